import { isGatewayError } from "../core/errors.js";
import type { BackoffOptions } from "./backoff.js";
import type { RetryBudgetOptions } from "./retry-budget.js";

/** How the router retries a failed attempt on another replica. */
export interface RetrySettings {
  /** Total attempts per request, the first included (so maxAttempts - 1 retries at most). */
  maxAttempts: number;
  backoff: BackoffOptions;
  budget: RetryBudgetOptions;
}

/**
 * Defaults, and why:
 * - maxAttempts 3 (two retries): the AWS SDKs' "standard" retry mode makes 3 attempts; each LLM attempt costs a
 *   prefill on a GPU, so more attempts mostly add load to a fleet that is already failing.
 * - backoff base 25 ms, max 1,000 ms: the retry goes to another replica, so there is no need to wait out the
 *   failed one; full jitter makes the mean waits 12.5 ms and 25 ms, small beside a time to first token of
 *   hundreds of milliseconds. The 1 s cap bounds configurations with more attempts: past it an interactive
 *   request has missed its time-to-first-token target anyway.
 * - budget ratio 0.2 over 10 s: Finagle's default RetryBudget (20% of requests, deposits live 10 s) and Envoy's
 *   default retry_budget budget_percent (20%): retries add at most a fifth to the load during an outage.
 * - minPerSecond 5: half of Finagle's 10/s floor, because an LLM retry is a whole generation rather than a
 *   cheap RPC; 5/s x 10 s still lets a quiet deployment retry 50 transient failures per window.
 */
export const DEFAULT_RETRY_SETTINGS: Readonly<RetrySettings> = Object.freeze({
  maxAttempts: 3,
  backoff: Object.freeze({ baseMs: 25, maxMs: 1_000 }),
  budget: Object.freeze({ ratio: 0.2, minPerSecond: 5, windowMs: 10_000 }),
});

/**
 * Socket-level failures worth retrying on another replica: undici's RetryHandler default `errorCodes`
 * (undici lib/handler/retry-handler.js), plus ETIMEDOUT and EAI_AGAIN (a transient DNS failure) and undici's
 * connect and headers timeouts, which both fire before any response byte, hence before the first token.
 */
const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ENOTFOUND",
  "ENETDOWN",
  "ENETUNREACH",
  "EHOSTDOWN",
  "EHOSTUNREACH",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
]);

/** fetch wraps the socket error as the cause of a TypeError("fetch failed"); a few levels cover every wrapper. */
const MAX_CAUSE_DEPTH = 4;

/**
 * Whether a failed attempt may be retried on another replica: connection errors, 429 and 5xx responses, and
 * timeouts before the first token. Never client errors (any other 4xx: the same request fails everywhere), and
 * never cancellations: an `AbortError` or `TimeoutError` (what `AbortSignal.abort()`/`.timeout()` reject with)
 * or an aborted `signal` means the client left or the request's own deadline is spent, so a retry would do work
 * nobody will read. A per-attempt timeout of an upstream should be raised as the `timeout` GatewayError (504,
 * retryable) instead. Deciding that no token has reached the client yet is the caller's part: once one has, a
 * retry would duplicate output.
 *
 * For a {@link GatewayError}, a 429 is always retryable (a replica's overload, another may have room: the
 * gateway's own rate limit rejects before routing, so never reaches here), and otherwise its `retryable` flag
 * decides, which defaults to true for 5xx and lets a stage mark a 5xx as final.
 */
export function isRetryable(error: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted) return false;
  if (isCancellation(error)) return false;
  if (isGatewayError(error)) {
    if (error.status === 429) return true;
    if (error.status >= 400 && error.status < 500) return false;
    return error.retryable;
  }
  const status = statusOf(error);
  if (status !== undefined) return isRetryableStatus(status);
  return hasRetryableCode(error);
}

/**
 * 429 and 5xx, except 501 Not Implemented and 505 HTTP Version Not Supported, which describe the request
 * rather than a transient state of the server (RFC 9110 §15.6.2, §15.6.6).
 */
function isRetryableStatus(status: number): boolean {
  if (status === 429) return true;
  return status >= 500 && status < 600 && status !== 501 && status !== 505;
}

/** By name, because the rejections of AbortSignal are DOMExceptions and other libraries throw look-alikes. */
function isCancellation(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { name } = error as { name?: unknown };
  return name === "AbortError" || name === "TimeoutError";
}

/** The HTTP status of a non-gateway error: `status` (openai SDK's APIError) or `statusCode` (undici). */
function statusOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const record = error as { status?: unknown; statusCode?: unknown };
  if (typeof record.status === "number") return record.status;
  if (typeof record.statusCode === "number") return record.statusCode;
  return undefined;
}

function hasRetryableCode(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH; depth++) {
    if (typeof current !== "object" || current === null) return false;
    const { code, cause } = current as { code?: unknown; cause?: unknown };
    if (typeof code === "string" && RETRYABLE_CODES.has(code)) return true;
    current = cause;
  }
  return false;
}
