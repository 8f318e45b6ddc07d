import { randomBytes } from "node:crypto";
import type { GuardConfig } from "../config/schema.js";
import type { Clock } from "../core/clock.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Store } from "../store/store.js";
import { type Admission, countThrottled, createAdmission } from "./admission.js";
import { ChallengeGate, type ChallengeSubmission } from "./challenge-gate.js";
import type { Identity } from "./identity.js";
import { type GuardInput, IdentityResolver } from "./identity-resolver.js";
import { type LimitState, RateLimiter } from "./limiter.js";
import { PassSigner } from "./pass.js";

export type { Admission } from "./admission.js";
export type { GuardInput } from "./identity-resolver.js";

/**
 * The guard, in front of everything else: identity (API key -> tenant, tier, class, limits; else the client
 * IP; identity-resolver.ts), an adaptive proof-of-work challenge when the request's risk is high (unless it carries a
 * valid pass; challenge-gate.ts), then request, concurrency and token limits (limiter.ts, admission.ts).
 * HTTP-free: the routes hand it headers and the peer address.
 */
export class Guard {
  readonly #config: GuardConfig;
  readonly #metrics: Metrics;
  readonly #identities: IdentityResolver;
  readonly #limiter: RateLimiter;
  readonly #gate: ChallengeGate;

  constructor(options: {
    config: GuardConfig;
    store: Store;
    clock: Clock;
    metrics: Metrics;
    /** Gateway load for the risk score, 0-1 (queue pressure). */
    load: () => number;
  }) {
    const { config, store, clock, metrics } = options;
    this.#config = config;
    this.#metrics = metrics;
    this.#identities = new IdentityResolver({ config, metrics });
    this.#limiter = new RateLimiter({
      store,
      clock,
      onRejected: (kind) => metrics.rateLimited.inc({ kind }),
    });
    const passes = new PassSigner(config.secret ?? randomBytes(32));
    this.#gate = new ChallengeGate({ config, store, clock, metrics, passes, load: options.load });
  }

  get enabled(): boolean {
    return this.#config.enabled;
  }

  /** Who sent the request; 401 for an unknown API key, or for anonymous requests when they are not allowed. */
  identify(input: GuardInput): Identity {
    return this.#identities.identify(input);
  }

  /**
   * Admits a request or throws: 401 (key), 403 challenge_required (a challengeable client whose risk is at or
   * over the threshold, with no valid pass; the error carries the puzzle), 429 (a request or concurrency limit).
   * Only anonymous clients and keys of tenants with `challenge: adaptive` are challengeable: the others are
   * neither scored nor tracked, and a flooding key meets its limits instead. Takes the concurrency slot.
   */
  async admit(input: GuardInput): Promise<Admission> {
    const admission = await this.check(input);
    await admission.acquireSlot();
    return admission;
  }

  /**
   * The checks that need only the request's head: identity (401), challenge (403), the request rate (429).
   * The concurrency slot is left to `acquireSlot()`, so the HTTP layer can take it once the body has been read
   * and a client's unfinished uploads cannot hold its slots.
   */
  async check(input: GuardInput): Promise<Admission> {
    const identity = this.identify(input);
    if (!this.#config.enabled) return this.#admission(identity, undefined, false);
    const passed = await this.#gate.screen(identity, input.pass);
    let requests: LimitState | undefined;
    try {
      requests = await this.#limiter.takeRequest(identity);
    } catch (error) {
      countThrottled(this.#metrics, error, identity.tier);
      throw error;
    }
    return this.#admission(identity, requests, passed);
  }

  /** POST /v1/challenge/verify: a pass for a solved challenge, or a 4xx saying what was wrong. */
  async verify(
    input: GuardInput,
    submission: ChallengeSubmission,
  ): Promise<{ pass: string; expires_at: number }> {
    return this.#gate.verify(this.identify(input), submission);
  }

  /** Seconds a pass is valid (for the cookie's Max-Age). */
  get passTtlSeconds(): number {
    return this.#config.challenge.passTtlSeconds;
  }

  #admission(identity: Identity, requests: LimitState | undefined, passed: boolean): Admission {
    const { enabled } = this.#config;
    return createAdmission({
      identity,
      requests,
      passed,
      enabled,
      limiter: this.#limiter,
      metrics: this.#metrics,
    });
  }
}
