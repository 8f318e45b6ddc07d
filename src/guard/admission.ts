import { GatewayError } from "../core/errors.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Identity } from "./identity.js";
import { type LimitState, limitHeaders, type RateLimiter } from "./limiter.js";

/** An admitted request: who it is, the rate-limit headers, and what to do as it proceeds and ends. */
export interface Admission {
  identity: Identity;
  /** `x-ratelimit-*` headers, updated by admitTokens. */
  headers: Record<string, string>;
  /**
   * Takes the client's concurrency slot (429 when its cap is reached); a no-op once held. Guard.admit takes it;
   * after Guard.check the caller takes it once the request's body has been read.
   */
  acquireSlot(): Promise<void>;
  /** Takes the prompt's tokens (429 when the token limit is reached). */
  admitTokens(promptTokens: number): Promise<void>;
  /** Charges the completion's tokens once known. */
  charge(completionTokens: number): void;
  /** Frees the concurrency slot, if held (idempotent; no slot can be taken afterwards). */
  release(): Promise<void>;
}

/** Counts a request a limit refused, under the limit that refused it (requests, concurrent). */
export function countThrottled(metrics: Metrics, error: unknown, tier: string): void {
  const reason = error instanceof GatewayError ? String(error.details?.["limit"] ?? "requests") : "requests";
  metrics.guardRequests.inc({ decision: "throttled", reason, tier });
}

/**
 * A request the guard's head checks let through: its concurrency slot, token limits and charges still to come.
 * `passed` (it carried a valid pass) is the reason it is counted under; with the guard disabled every step is
 * a no-op.
 */
export function createAdmission(options: {
  identity: Identity;
  /** The request limit's state, for the headers (undefined when the guard is disabled). */
  requests: LimitState | undefined;
  passed: boolean;
  enabled: boolean;
  limiter: RateLimiter;
  metrics: Metrics;
}): Admission {
  const { identity, passed, enabled, limiter, metrics } = options;
  const headers = limitHeaders("requests", options.requests);
  let release: (() => Promise<void>) | undefined;
  let released = false;
  return {
    identity,
    headers,
    acquireSlot: async () => {
      if (!enabled || release !== undefined || released) return;
      let held: () => Promise<void>;
      try {
        held = await limiter.holdConcurrency(identity);
      } catch (error) {
        countThrottled(metrics, error, identity.tier);
        throw error;
      }
      // Released while the slot was being taken: give it straight back.
      if (released) return held();
      release = held;
      // Counted once the last check has passed: a request is allowed, challenged or throttled, never two.
      metrics.guardRequests.inc({ decision: "allowed", reason: passed ? "pass" : "ok", tier: identity.tier });
    },
    admitTokens: async (promptTokens) => {
      if (!enabled) return;
      try {
        Object.assign(headers, limitHeaders("tokens", await limiter.admitTokens(identity, promptTokens)));
      } catch (error) {
        metrics.guardRequests.inc({ decision: "throttled", reason: "tokens", tier: identity.tier });
        throw error;
      }
    },
    charge: (completionTokens) => {
      if (!enabled) return;
      void limiter.chargeTokens(identity, completionTokens).catch(() => {});
    },
    release: async () => {
      if (released) return;
      released = true;
      await release?.();
    },
  };
}
