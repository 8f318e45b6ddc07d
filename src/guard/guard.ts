import { randomBytes } from "node:crypto";
import type { GuardConfig } from "../config/schema.js";
import type { Clock } from "../core/clock.js";
import { GatewayError } from "../core/errors.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Store } from "../store/store.js";
import { Challenges } from "./challenges.js";
import { ApiKeys, bearerToken, ClientAddress, type Identity } from "./identity.js";
import { type LimitState, limitHeaders, RateLimiter } from "./limiter.js";
import { PassSigner } from "./pass.js";
import { difficultyFor, riskScore } from "./risk.js";

/** What the HTTP layer hands the guard about a request. */
export interface GuardInput {
  authorization?: string | undefined;
  /** The socket's remote address. */
  peer?: string | undefined;
  forwardedFor?: string | undefined;
  /** From the x-tollgate-pass header or the tollgate_pass cookie. */
  pass?: string | undefined;
}

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

const ANONYMOUS_TENANT = "anonymous";

/**
 * The guard, in front of everything else: identity (API key -> tenant, tier, class, limits; else the client
 * IP), an adaptive proof-of-work challenge when the request's risk is high (unless it carries a valid pass),
 * then request, concurrency and token limits. HTTP-free: the routes hand it headers and the peer address.
 */
export class Guard {
  readonly #config: GuardConfig;
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #metrics: Metrics;
  readonly #keys: ApiKeys;
  readonly #address: ClientAddress;
  readonly #limiter: RateLimiter;
  readonly #passes: PassSigner;
  readonly #challenges: Challenges;
  readonly #load: () => number;

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
    this.#store = store;
    this.#clock = clock;
    this.#metrics = metrics;
    this.#load = options.load;
    this.#keys = new ApiKeys(config.apiKeys);
    this.#address = new ClientAddress(config.trustedProxies);
    this.#limiter = new RateLimiter({
      store,
      clock,
      onRejected: (kind) => metrics.rateLimited.inc({ kind }),
    });
    this.#passes = new PassSigner(config.secret ?? randomBytes(32));
    this.#challenges = new Challenges({
      store,
      clock,
      passes: this.#passes,
      ttlSeconds: config.challenge.challengeTtlSeconds,
      passTtlSeconds: config.challenge.passTtlSeconds,
    });
  }

  get enabled(): boolean {
    return this.#config.enabled;
  }

  /** Who sent the request; 401 for an unknown API key, or for anonymous requests when they are not allowed. */
  identify(input: GuardInput): Identity {
    // With no keys configured there is nothing to check a key against: clients that must send one (the
    // openai SDK always does) are served as anonymous. Once keys exist, an unknown key is a 401.
    const key = this.#keys.size === 0 ? undefined : bearerToken(input.authorization);
    if (key !== undefined) {
      const entry = this.#keys.find(key);
      if (entry === undefined) {
        this.#metrics.guardRequests.inc({ decision: "rejected", reason: "invalid_api_key", tier: "unknown" });
        throw new GatewayError("invalid_api_key", "Incorrect API key provided.");
      }
      const tenant = this.#config.tenants[entry.tenant]!;
      return {
        kind: "key",
        subject: `key:${entry.name}`,
        tenant: entry.tenant,
        tier: tenant.tier,
        challenge: tenant.challenge,
        ...(tenant.sloClass !== undefined && { sloClass: tenant.sloClass }),
        limits: [
          { scope: "key", id: entry.name, limits: entry.limits },
          { scope: "tenant", id: entry.tenant, limits: tenant.limits },
        ],
      };
    }
    const { anonymous } = this.#config;
    if (!anonymous.allowed) {
      this.#metrics.guardRequests.inc({ decision: "rejected", reason: "missing_api_key", tier: "anonymous" });
      throw new GatewayError("invalid_api_key", "An API key is required: send Authorization: Bearer <key>.");
    }
    const address = this.#address.resolve(input.peer, input.forwardedFor);
    return {
      kind: "anonymous",
      subject: `ip:${address}`,
      tenant: ANONYMOUS_TENANT,
      tier: "anonymous",
      challenge: "adaptive",
      ...(anonymous.sloClass !== undefined && { sloClass: anonymous.sloClass }),
      limits: [{ scope: "ip", id: address, limits: anonymous.limits }],
    };
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
    const tier = identity.tier;
    if (!this.#config.enabled) return this.#admission(identity, undefined, false);
    const { challenge } = this.#config;
    const challengeable = challenge.enabled && identity.challenge === "adaptive";
    const passed = challengeable && (await this.#checkPass(identity, input.pass));
    if (challengeable) {
      // A pass vouches that a person is there: it waives the no-key and load terms, not flooding. A passed
      // client whose own rate reaches the flood rate is challenged again (one solve must not buy an hour of
      // flooding).
      const risk = await this.#risk(identity, passed);
      if (risk >= challenge.threshold) {
        const difficulty = difficultyFor(risk, challenge);
        const issued = await this.#challenges.issue(identity.subject, difficulty);
        this.#metrics.challengesIssued.inc();
        this.#metrics.challengeDifficulty.set(issued.difficulty);
        this.#metrics.guardRequests.inc({
          decision: "challenged",
          reason: passed ? "flood_with_pass" : "risk",
          tier,
        });
        throw new GatewayError(
          "challenge_required",
          "Verification required: solve the proof-of-work challenge and send the pass in x-tollgate-pass (POST /v1/challenge/verify).",
          { details: { challenge: issued } },
        );
      }
    }
    let requests: LimitState | undefined;
    try {
      requests = await this.#limiter.takeRequest(identity);
    } catch (error) {
      this.#throttled(error, tier);
      throw error;
    }
    return this.#admission(identity, requests, passed);
  }

  /** POST /v1/challenge/verify: a pass for a solved challenge, or a 4xx saying what was wrong. */
  async verify(
    input: GuardInput,
    submission: { id: string; nonce: string; solveMs?: number | undefined },
  ): Promise<{ pass: string; expires_at: number }> {
    const identity = this.identify(input);
    try {
      const result = await this.#challenges.verify(identity.subject, submission.id, submission.nonce);
      this.#metrics.challengeVerifications.inc({ result: "solved" });
      if (submission.solveMs !== undefined)
        this.#metrics.challengeSolveTime.observe(submission.solveMs / 1000);
      return { pass: result.pass, expires_at: result.expires_at };
    } catch (error) {
      if (error instanceof GatewayError) {
        const result = VERIFY_RESULTS[error.code] ?? "malformed";
        this.#metrics.challengeVerifications.inc({ result });
        if (result === "wrong_nonce" || result === "wrong_client" || result === "replayed")
          await this.#failed(identity);
      }
      throw error;
    }
  }

  /** Seconds a pass is valid (for the cookie's Max-Age). */
  get passTtlSeconds(): number {
    return this.#config.challenge.passTtlSeconds;
  }

  /** A request the checks let through; `passed` (it carried a valid pass) is the reason it is counted under. */
  #admission(identity: Identity, requests: LimitState | undefined, passed: boolean): Admission {
    const headers = limitHeaders("requests", requests);
    let release: (() => Promise<void>) | undefined;
    let released = false;
    return {
      identity,
      headers,
      acquireSlot: async () => {
        if (!this.#config.enabled || release !== undefined || released) return;
        let held: () => Promise<void>;
        try {
          held = await this.#limiter.holdConcurrency(identity);
        } catch (error) {
          this.#throttled(error, identity.tier);
          throw error;
        }
        // Released while the slot was being taken: give it straight back.
        if (released) return held();
        release = held;
        // Counted once the last check has passed: a request is allowed, challenged or throttled, never two.
        this.#metrics.guardRequests.inc({
          decision: "allowed",
          reason: passed ? "pass" : "ok",
          tier: identity.tier,
        });
      },
      admitTokens: async (promptTokens) => {
        if (!this.#config.enabled) return;
        try {
          Object.assign(
            headers,
            limitHeaders("tokens", await this.#limiter.admitTokens(identity, promptTokens)),
          );
        } catch (error) {
          this.#metrics.guardRequests.inc({ decision: "throttled", reason: "tokens", tier: identity.tier });
          throw error;
        }
      },
      charge: (completionTokens) => {
        if (!this.#config.enabled) return;
        void this.#limiter.chargeTokens(identity, completionTokens).catch(() => {});
      },
      release: async () => {
        if (released) return;
        released = true;
        await release?.();
      },
    };
  }

  #throttled(error: unknown, tier: string): void {
    const reason =
      error instanceof GatewayError ? String(error.details?.["limit"] ?? "requests") : "requests";
    this.#metrics.guardRequests.inc({ decision: "throttled", reason, tier });
  }

  /** True for a valid pass bound to this client; an invalid one counts against its history. */
  async #checkPass(identity: Identity, pass: string | undefined): Promise<boolean> {
    if (pass === undefined || pass === "") return false;
    const check = this.#passes.check(pass, identity.subject, Math.floor(this.#clock.epochMs() / 1000));
    if (!check.ok) await this.#failed(identity);
    return check.ok;
  }

  /** The request's risk, after counting it towards its client's rate. */
  async #risk(identity: Identity, passed: boolean): Promise<number> {
    const { ratePerSecond, lastSecond } = await this.#track(identity);
    const failures = await this.#store.increment(`gfail:${identity.subject}`, 0, { ttlMs: 3_600_000 });
    return riskScore({
      anonymous: identity.kind === "anonymous" && !passed,
      ratePerSecond,
      lastSecond,
      floodRatePerSecond: this.#config.challenge.floodRatePerSecond,
      load: passed ? 0 : this.#load(),
      failures,
    });
  }

  /**
   * Counts the request in fixed windows (the rate window and one second) and estimates the client's rate
   * with the sliding-window approximation: previous window weighted by the share of it still in view.
   */
  async #track(identity: Identity): Promise<{ ratePerSecond: number; lastSecond: number }> {
    const windowMs = this.#config.challenge.rateWindowSeconds * 1000;
    const now = this.#clock.epochMs();
    const index = Math.floor(now / windowMs);
    const base = `grate:${identity.subject}`;
    const [current, previous, lastSecond] = await Promise.all([
      this.#store.increment(`${base}:${index}`, 1, { ttlMs: 2 * windowMs }),
      this.#store.increment(`${base}:${index - 1}`, 0, { ttlMs: 2 * windowMs }),
      this.#store.increment(`${base}:s:${Math.floor(now / 1000)}`, 1, { ttlMs: 2_000 }),
    ]);
    const elapsed = (now % windowMs) / windowMs;
    const inView = previous * (1 - elapsed) + current;
    return { ratePerSecond: inView / (windowMs / 1000), lastSecond };
  }

  async #failed(identity: Identity): Promise<void> {
    await this.#store.increment(`gfail:${identity.subject}`, 1, { ttlMs: 3_600_000 });
  }
}

const VERIFY_RESULTS: Partial<Record<string, string>> = {
  challenge_failed: "wrong_nonce",
  challenge_expired: "expired",
  challenge_not_found: "unknown",
  challenge_already_used: "replayed",
  challenge_wrong_client: "wrong_client",
};
