import { type ErrorCode, GatewayError } from "../../core/errors.js";
import type { UpstreamErrorInfo } from "./wire.js";

/**
 * Upstream failures as the gateway's own errors. One rule holds throughout: once a token has been yielded, no
 * error is retryable, because the client has already seen part of this answer and a retry elsewhere would
 * send a different one. Messages name the replica, never the upstream's address; the original error is the
 * cause (for the log). Upstream messages are passed on for 4xx only (they explain the client's mistake);
 * a 5xx body may hold internals.
 */

export interface FailureContext {
  replicaId: string;
  /** True once the generation has yielded a token. */
  tokensYielded: boolean;
}

function fail(
  code: ErrorCode,
  message: string,
  context: FailureContext,
  options: { retryable: boolean; retryAfterSeconds?: number; param?: string; cause?: unknown },
): GatewayError {
  return new GatewayError(code, message, {
    ...options,
    retryable: options.retryable && !context.tokensYielded,
  });
}

/** 400-class codes an OpenAI-compatible upstream may send that the catalogue also has: they are kept. */
const KEPT_400_CODES = new Set<string>(["context_length_exceeded", "unsupported_parameter"]);

export interface StatusFailure {
  status: number;
  /** The upstream's error object, when its body was OpenAI-shaped. */
  info: UpstreamErrorInfo | undefined;
  retryAfterSeconds: number | undefined;
}

/** A non-2xx answer (the whole mapping table is in openai-http-backend.ts). */
export function statusError(failure: StatusFailure, context: FailureContext): GatewayError {
  const { status, info, retryAfterSeconds } = failure;
  const who = `replica ${context.replicaId}`;
  const upstreamMessage = info?.message ?? `${who}: the upstream answered ${status}`;
  const param = info?.param === undefined ? {} : { param: info.param };
  const retryAfter = retryAfterSeconds === undefined ? {} : { retryAfterSeconds };
  if (status === 400 || status === 422) {
    const code = info?.code !== undefined && KEPT_400_CODES.has(info.code) ? info.code : "invalid_request";
    return fail(code as ErrorCode, upstreamMessage, context, { retryable: false, ...param });
  }
  if (status === 404)
    return fail("model_not_found", upstreamMessage, context, { retryable: false, ...param });
  if (status === 413) return fail("request_too_large", upstreamMessage, context, { retryable: false });
  if (status === 429) {
    const message = info?.message ?? `${who}: the upstream is rate limiting the gateway`;
    return fail("rate_limit_exceeded", message, context, { retryable: true, ...retryAfter });
  }
  if (status === 408) {
    return fail("timeout", `${who}: the upstream timed out the request (408)`, context, { retryable: true });
  }
  if (status === 401 || status === 403) {
    // The gateway's credentials for this upstream are wrong: not the client's fault, and another replica
    // (with its own key) may serve the request.
    return fail(
      "backend_error",
      `${who}: the upstream refused the gateway's credentials (${status})`,
      context,
      {
        retryable: true,
        cause: info,
      },
    );
  }
  if (status >= 500) {
    return fail("backend_error", `${who}: the upstream failed (${status})`, context, {
      retryable: true,
      ...retryAfter,
      cause: info,
    });
  }
  // Redirects and other 4xx: a misconfigured upstream (wrong path, method, media type); retrying the same
  // request there would fail the same way.
  return fail("backend_error", `${who}: the upstream answered ${status}`, context, {
    retryable: false,
    cause: info,
  });
}

/** Socket-level failures: the upstream is unreachable, or the connection broke. */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "EPIPE",
  "ETIMEDOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
]);

/** The `code` of an error or of its cause (undici and AggregateErrors from happy eyeballs nest them). */
export function errorCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; typeof e === "object" && e !== null && depth < 3; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export interface TransportFailure {
  error: GatewayError;
  /** True when the upstream could not be reached at all: counts toward passive health. */
  connectionFailure: boolean;
}

/**
 * A thrown transport error (not an HTTP status, not our own abort). `headersReceived` tells a refused or
 * timed-out connection from one that broke mid-response.
 */
export function transportError(
  error: unknown,
  context: FailureContext & { headersReceived: boolean },
): TransportFailure {
  const who = `replica ${context.replicaId}`;
  const code = errorCode(error);
  if (code === "UND_ERR_CONNECT_TIMEOUT") {
    const failure = fail("timeout", `${who}: connecting to the upstream timed out`, context, {
      retryable: true,
      cause: error,
    });
    return { error: failure, connectionFailure: true };
  }
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") {
    const what = context.tokensYielded ? "stalled mid-stream" : "sent no first token in time";
    return {
      error: fail("timeout", `${who}: the upstream ${what}`, context, { retryable: true, cause: error }),
      connectionFailure: false,
    };
  }
  const known = code !== undefined && CONNECTION_CODES.has(code);
  const detail = known ? ` (${code})` : "";
  const message = context.headersReceived
    ? `${who}: the upstream connection broke mid-response${detail}`
    : `${who}: the upstream is unreachable${detail}`;
  return {
    error: fail("backend_error", message, context, { retryable: true, cause: error }),
    connectionFailure: !context.headersReceived,
  };
}

/**
 * Seconds from a Retry-After header (RFC 9110 section 10.2.3: delay-seconds or an HTTP-date), rounded up and
 * never negative; undefined when absent or unreadable.
 */
export function parseRetryAfter(
  value: string | string[] | undefined,
  nowEpochMs: number,
): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (text === undefined || text === "") return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - nowEpochMs) / 1000));
}
