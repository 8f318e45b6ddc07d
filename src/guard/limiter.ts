import type { LimitsConfig } from "../config/schema.js";
import type { Clock } from "../core/clock.js";
import { GatewayError } from "../core/errors.js";
import type { Hold, Store } from "../store/store.js";
import type { Identity } from "./identity.js";

/** One limit's state for the OpenAI `x-ratelimit-*` headers. */
export interface LimitState {
  limit: number;
  remaining: number;
  /** Until the bucket is full again, in milliseconds. */
  resetMs: number;
}

export type LimitKind = "requests" | "tokens" | "concurrent";

/** A concurrency slot lives at most this long in the store, so a crashed gateway cannot leak it for good. */
const CONCURRENCY_TTL_MS = 15 * 60_000;

/**
 * Rate limits over the Store: per key, per tenant and per anonymous IP (Identity.limits), each a token bucket
 * (atomic in Redis; the store's takeTokens): requests per minute (cost 1), tokens per minute (prompt tokens at
 * admission, completion tokens charged afterwards as a debit that may run into debt), and a concurrent-request
 * cap (an expiring counter). Buckets refill continuously, so a client at its limit gets a token every 60/limit s
 * instead of waiting for a window to roll over. Bucket time is epoch milliseconds, shared by a fleet.
 */
export class RateLimiter {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #rejected: (kind: LimitKind) => void;

  constructor(options: { store: Store; clock: Clock; onRejected?: (kind: LimitKind) => void }) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#rejected = options.onRejected ?? (() => {});
  }

  /**
   * Takes one request from every request bucket. Throws 429 (with Retry-After and the headers) when a limit is
   * reached. Returns the state for the headers.
   */
  async takeRequest(identity: Identity): Promise<LimitState | undefined> {
    const nowMs = this.#clock.epochMs();
    let shown: LimitState | undefined;
    for (const { scope, id, limits } of identity.limits) {
      const rpm = limits.requestsPerMinute;
      if (rpm === undefined) continue;
      const result = await this.#store.takeTokens(`rl:req:${scope}:${id}`, {
        capacity: rpm,
        ratePerSec: rpm / 60,
        cost: 1,
        nowMs,
      });
      const state = bucketState(rpm, result.remaining);
      if (!result.allowed) {
        throw this.#limited(
          "requests",
          `Rate limit reached for requests (${rpm} per minute, ${scope}).`,
          result.retryAfterMs,
          {
            ...limitHeaders("requests", state),
          },
        );
      }
      if (shown === undefined || state.remaining < shown.remaining) shown = state;
    }
    return shown;
  }

  /** Takes a concurrency slot in every scope that caps them (429 when one is full); returns their release. */
  async holdConcurrency(identity: Identity): Promise<() => Promise<void>> {
    // Each slot is released on the store that counted it (Store.hold), so a shared-store outage that starts
    // or ends while the request runs leaves no slot held on one side and a negative count on the other.
    const held: Hold[] = [];
    const release = async () => {
      await Promise.all(held.map((slot) => slot.release()));
      held.length = 0;
    };
    for (const { scope, id, limits } of identity.limits) {
      const cap = limits.concurrentRequests;
      if (cap === undefined) continue;
      const slot = await this.#store.hold(`rl:conc:${scope}:${id}`, { ttlMs: CONCURRENCY_TTL_MS });
      held.push(slot);
      if (slot.count > cap) {
        await release();
        throw this.#limited("concurrent", `Too many concurrent requests (${cap}, ${scope}).`, 1_000, {});
      }
    }
    return release;
  }

  /** Takes the prompt's tokens from every token bucket; 429 when one is short. */
  async admitTokens(identity: Identity, promptTokens: number): Promise<LimitState | undefined> {
    const nowMs = this.#clock.epochMs();
    let shown: LimitState | undefined;
    for (const { scope, id, limits } of identity.limits) {
      const tpm = limits.tokensPerMinute;
      if (tpm === undefined) continue;
      // A prompt larger than a whole minute's tokens could never be admitted: charge a full bucket instead.
      const result = await this.#store.takeTokens(`rl:tok:${scope}:${id}`, {
        capacity: tpm,
        ratePerSec: tpm / 60,
        cost: Math.min(promptTokens, tpm),
        nowMs,
      });
      const state = bucketState(tpm, result.remaining);
      if (!result.allowed) {
        throw this.#limited(
          "tokens",
          `Rate limit reached for tokens (${tpm} per minute, ${scope}).`,
          result.retryAfterMs,
          {
            ...limitHeaders("tokens", state),
          },
        );
      }
      if (shown === undefined || state.remaining < shown.remaining) shown = state;
    }
    return shown;
  }

  /** Charges completion tokens once known: a debit that later requests wait out. */
  async chargeTokens(identity: Identity, completionTokens: number): Promise<void> {
    if (completionTokens <= 0) return;
    const nowMs = this.#clock.epochMs();
    for (const { scope, id, limits } of identity.limits) {
      const tpm = limits.tokensPerMinute;
      if (tpm === undefined) continue;
      await this.#store.takeTokens(`rl:tok:${scope}:${id}`, {
        capacity: tpm,
        ratePerSec: tpm / 60,
        cost: Math.min(completionTokens, tpm),
        nowMs,
        force: true,
      });
    }
  }

  #limited(
    kind: LimitKind,
    message: string,
    retryAfterMs: number,
    headers: Record<string, string>,
  ): GatewayError {
    this.#rejected(kind);
    return new GatewayError("rate_limit_exceeded", message, {
      retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
      headers,
      details: { limit: kind },
    });
  }
}

/** A bucket's state as the headers show it: reset = time to refill what is missing. */
export function bucketState(limit: number, remaining: number): LimitState {
  return { limit, remaining, resetMs: Math.ceil(((limit - remaining) / (limit / 60)) * 1000) };
}

/** OpenAI's headers: `x-ratelimit-limit-requests`, `-remaining-requests`, `-reset-requests` (and `-tokens`). */
export function limitHeaders(
  kind: "requests" | "tokens",
  state: LimitState | undefined,
): Record<string, string> {
  if (state === undefined) return {};
  return {
    [`x-ratelimit-limit-${kind}`]: String(state.limit),
    [`x-ratelimit-remaining-${kind}`]: String(state.remaining),
    [`x-ratelimit-reset-${kind}`]: formatDuration(state.resetMs),
  };
}

/** Durations as OpenAI writes them: `0s`, `1.5s`, `6m0s`, `1h2m3s`. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, ms) / 1000;
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = Math.round((total % 60) * 1000) / 1000;
  if (hours > 0) return `${hours}h${minutes}m${Math.round(seconds)}s`;
  if (minutes > 0) return `${minutes}m${Math.round(seconds)}s`;
  return `${seconds}s`;
}

export type { LimitsConfig };
