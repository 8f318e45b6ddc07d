/**
 * The error catalogue: every failure the gateway reports has a code here with its HTTP status and its
 * OpenAI error `type`. Stages throw {@link GatewayError}; the HTTP layer turns it into an OpenAI error body.
 */
export const ERROR_CATALOGUE = {
  invalid_json: { status: 400, type: "invalid_request_error" },
  invalid_request: { status: 400, type: "invalid_request_error" },
  context_length_exceeded: { status: 400, type: "invalid_request_error" },
  unsupported_parameter: { status: 400, type: "invalid_request_error" },
  invalid_api_key: { status: 401, type: "invalid_request_error" },
  forbidden: { status: 403, type: "permission_error" },
  /** The guard asks for a proof-of-work before serving (403, not 429, so SDKs do not retry blindly). */
  challenge_required: { status: 403, type: "challenge_required" },
  challenge_wrong_client: { status: 403, type: "invalid_request_error" },
  challenge_not_found: { status: 404, type: "invalid_request_error" },
  challenge_already_used: { status: 409, type: "invalid_request_error" },
  challenge_expired: { status: 410, type: "invalid_request_error" },
  challenge_failed: { status: 400, type: "invalid_request_error" },
  model_not_found: { status: 404, type: "invalid_request_error" },
  not_found: { status: 404, type: "invalid_request_error" },
  method_not_allowed: { status: 405, type: "invalid_request_error" },
  /** The request's headers or body did not arrive in time (server.headersTimeoutMs and friends). */
  request_timeout: { status: 408, type: "invalid_request_error" },
  request_too_large: { status: 413, type: "invalid_request_error" },
  unsupported_media_type: { status: 415, type: "invalid_request_error" },
  request_headers_too_large: { status: 431, type: "invalid_request_error" },
  rate_limit_exceeded: { status: 429, type: "rate_limit_error" },
  /** A tenant holds more than its share of a saturated pool. */
  tenant_over_share: { status: 429, type: "rate_limit_error" },
  /**
   * The client went away before its response was complete: recorded (metrics, logs) as nginx's 499, never sent.
   * Not a 5xx: the gateway did not fail.
   */
  client_closed_request: { status: 499, type: "invalid_request_error" },
  internal_error: { status: 500, type: "server_error" },
  backend_error: { status: 502, type: "server_error" },
  replica_unavailable: { status: 503, type: "server_error" },
  service_unavailable: { status: 503, type: "server_error" },
  /** Shed by admission control or dropped from the queue: the gateway is over capacity for the request's class. */
  overloaded: { status: 503, type: "server_error" },
  timeout: { status: 504, type: "server_error" },
} as const satisfies Record<string, { status: number; type: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface GatewayErrorOptions {
  /** The request field at fault, in OpenAI's `param` sense (e.g. `messages`, `max_tokens`). */
  param?: string | null;
  /** True when retrying the same request elsewhere may succeed (connection errors, 5xx, overload). */
  retryable?: boolean;
  /** Seconds the client should wait before retrying (sent as `Retry-After`). */
  retryAfterSeconds?: number;
  /** More fields of the error object (a challenge's puzzle). */
  details?: Readonly<Record<string, unknown>>;
  /** Response headers that go with the error (rate-limit state). */
  headers?: Readonly<Record<string, string>>;
  cause?: unknown;
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly retryable: boolean;
  readonly retryAfterSeconds: number | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "GatewayError";
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.type = ERROR_CATALOGUE[code].type;
    this.param = options.param ?? null;
    this.retryable = options.retryable ?? this.status >= 500;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.details = options.details;
    this.headers = options.headers;
  }
}

export function isGatewayError(error: unknown): error is GatewayError {
  return error instanceof GatewayError;
}
