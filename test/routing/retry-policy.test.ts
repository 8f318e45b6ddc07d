import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/core/errors.js";
import { DEFAULT_RETRY_SETTINGS, isRetryable } from "../../src/routing/retry-policy.js";

/** A Node system error as net/undici raise it. */
function systemError(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

const aborted = new AbortController();
aborted.abort();

describe("isRetryable", () => {
  it.each<[string, unknown, boolean]>([
    // Gateway errors: 429 and 5xx by their flag, never other 4xx.
    ["backend_error 502", new GatewayError("backend_error", "boom"), true],
    [
      "replica_unavailable 503 (outage)",
      new GatewayError("replica_unavailable", "down", { retryable: true }),
      true,
    ],
    ["service_unavailable 503", new GatewayError("service_unavailable", "closing"), true],
    ["timeout 504 (per-attempt, before first token)", new GatewayError("timeout", "slow"), true],
    ["internal_error 500", new GatewayError("internal_error", "bug"), true],
    [
      "5xx marked final by its stage",
      new GatewayError("service_unavailable", "shed", { retryable: false }),
      false,
    ],
    ["rate_limit_exceeded 429 from a replica", new GatewayError("rate_limit_exceeded", "busy"), true],
    ["invalid_request 400", new GatewayError("invalid_request", "bad"), false],
    ["context_length_exceeded 400", new GatewayError("context_length_exceeded", "long"), false],
    ["model_not_found 404", new GatewayError("model_not_found", "nope"), false],
    ["request_too_large 413", new GatewayError("request_too_large", "big"), false],
    ["4xx even if flagged retryable", new GatewayError("invalid_request", "bad", { retryable: true }), false],
    // Cancellations: the client left or the request's deadline is spent.
    ["DOMException AbortError", new DOMException("aborted", "AbortError"), false],
    ["DOMException TimeoutError", new DOMException("deadline", "TimeoutError"), false],
    ["AbortSignal.abort() reason", aborted.signal.reason, false],
    ["Error named AbortError", Object.assign(new Error("x"), { name: "AbortError" }), false],
    [
      "AbortError carrying a retryable code",
      Object.assign(systemError("ECONNRESET"), { name: "AbortError" }),
      false,
    ],
    // Connection errors, bare and wrapped the way fetch wraps them.
    ["ECONNRESET", systemError("ECONNRESET"), true],
    ["ECONNREFUSED", systemError("ECONNREFUSED"), true],
    ["ETIMEDOUT", systemError("ETIMEDOUT"), true],
    ["EAI_AGAIN", systemError("EAI_AGAIN"), true],
    ["UND_ERR_SOCKET", systemError("UND_ERR_SOCKET"), true],
    ["UND_ERR_CONNECT_TIMEOUT", systemError("UND_ERR_CONNECT_TIMEOUT"), true],
    ["UND_ERR_HEADERS_TIMEOUT", systemError("UND_ERR_HEADERS_TIMEOUT"), true],
    [
      "fetch failed <- ECONNREFUSED",
      new TypeError("fetch failed", { cause: systemError("ECONNREFUSED") }),
      true,
    ],
    ["fetch failed with no cause", new TypeError("fetch failed"), false],
    ["unrelated code", systemError("ERR_INVALID_ARG_TYPE"), false],
    ["UND_ERR_BODY_TIMEOUT (mid-stream)", systemError("UND_ERR_BODY_TIMEOUT"), false],
    // HTTP statuses from other clients (openai SDK: status; undici: statusCode).
    ["status 429", Object.assign(new Error("x"), { status: 429 }), true],
    ["status 500", Object.assign(new Error("x"), { status: 500 }), true],
    ["status 503", Object.assign(new Error("x"), { status: 503 }), true],
    ["statusCode 502", Object.assign(new Error("x"), { statusCode: 502 }), true],
    ["status 501 Not Implemented", Object.assign(new Error("x"), { status: 501 }), false],
    ["status 505", Object.assign(new Error("x"), { status: 505 }), false],
    ["status 400", Object.assign(new Error("x"), { status: 400 }), false],
    ["status 401", Object.assign(new Error("x"), { status: 401 }), false],
    ["status 408", Object.assign(new Error("x"), { status: 408 }), false],
    ["status 200 (odd, but not a failure to retry)", Object.assign(new Error("x"), { status: 200 }), false],
    // Things that are not errors at all.
    ["plain Error", new Error("?"), false],
    ["string", "ECONNRESET", false],
    ["undefined", undefined, false],
    ["null", null, false],
  ])("%s -> %s", (_name, error, expected) => {
    expect(isRetryable(error)).toBe(expected);
  });

  it("never retries once the caller's signal is aborted, whatever the error", () => {
    expect(isRetryable(new GatewayError("backend_error", "boom"), aborted.signal)).toBe(false);
    expect(isRetryable(systemError("ECONNRESET"), aborted.signal)).toBe(false);
    expect(isRetryable(systemError("ECONNRESET"), new AbortController().signal)).toBe(true);
  });

  it("stops following causes after a few levels", () => {
    let error: Error = systemError("ECONNRESET");
    for (let i = 0; i < 10; i++) error = new Error("wrap", { cause: error });
    expect(isRetryable(error)).toBe(false);
  });
});

describe("DEFAULT_RETRY_SETTINGS", () => {
  it("holds the documented values and is frozen", () => {
    expect(DEFAULT_RETRY_SETTINGS).toEqual({
      maxAttempts: 3,
      backoff: { baseMs: 25, maxMs: 1_000 },
      budget: { ratio: 0.2, minPerSecond: 5, windowMs: 10_000 },
    });
    expect(Object.isFrozen(DEFAULT_RETRY_SETTINGS)).toBe(true);
    expect(Object.isFrozen(DEFAULT_RETRY_SETTINGS.backoff)).toBe(true);
    expect(Object.isFrozen(DEFAULT_RETRY_SETTINGS.budget)).toBe(true);
  });
});
