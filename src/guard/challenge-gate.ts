import type { GuardConfig } from "../config/schema.js";
import type { Clock } from "../core/clock.js";
import { GatewayError } from "../core/errors.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Store } from "../store/store.js";
import { Challenges } from "./challenges.js";
import type { Identity } from "./identity.js";
import type { PassSigner } from "./pass.js";
import { difficultyFor, riskScore } from "./risk.js";

/** A submitted solution, from POST /v1/challenge/verify. */
export interface ChallengeSubmission {
  id: string;
  nonce: string;
  solveMs?: number | undefined;
}

const VERIFY_RESULTS: Partial<Record<string, string>> = {
  challenge_failed: "wrong_nonce",
  challenge_expired: "expired",
  challenge_not_found: "unknown",
  challenge_already_used: "replayed",
  challenge_wrong_client: "wrong_client",
};

/**
 * The risk and challenge decision: scores a challengeable client's request (its rate, burstiness, history and
 * the gateway's load; src/guard/risk.ts), hands out a proof-of-work challenge at the threshold unless a valid
 * pass vouches for it, and verifies solutions. Client history (rates, failures) lives in the Store, so a
 * fleet sharing one sees the same client.
 */
export class ChallengeGate {
  readonly #config: GuardConfig;
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #metrics: Metrics;
  readonly #passes: PassSigner;
  readonly #challenges: Challenges;
  readonly #load: () => number;

  constructor(options: {
    config: GuardConfig;
    store: Store;
    clock: Clock;
    metrics: Metrics;
    passes: PassSigner;
    /** Gateway load for the risk score, 0-1 (queue pressure). */
    load: () => number;
  }) {
    const { config, store, clock, passes } = options;
    this.#config = config;
    this.#store = store;
    this.#clock = clock;
    this.#metrics = options.metrics;
    this.#passes = passes;
    this.#load = options.load;
    this.#challenges = new Challenges({
      store,
      clock,
      passes,
      ttlSeconds: config.challenge.challengeTtlSeconds,
      passTtlSeconds: config.challenge.passTtlSeconds,
    });
  }

  /**
   * Lets a request on, or throws 403 challenge_required (carrying the puzzle) when its client is challengeable
   * and its risk is at or over the threshold. Returns whether it carried a valid pass. Only anonymous clients
   * and keys of tenants with `challenge: adaptive` are challengeable: the others are neither scored nor tracked.
   */
  async screen(identity: Identity, pass: string | undefined): Promise<boolean> {
    const { challenge } = this.#config;
    const challengeable = challenge.enabled && identity.challenge === "adaptive";
    if (!challengeable) return false;
    const passed = await this.#checkPass(identity, pass);
    // A pass vouches that a person is there: it waives the no-key and load terms, not flooding. A passed
    // client whose own rate reaches the flood rate is challenged again (one solve must not buy an hour of
    // flooding).
    const risk = await this.#risk(identity, passed);
    if (risk < challenge.threshold) return passed;
    const difficulty = difficultyFor(risk, challenge);
    const issued = await this.#challenges.issue(identity.subject, difficulty);
    this.#metrics.challengesIssued.inc();
    this.#metrics.challengeDifficulty.set(issued.difficulty);
    this.#metrics.guardRequests.inc({
      decision: "challenged",
      reason: passed ? "flood_with_pass" : "risk",
      tier: identity.tier,
    });
    throw new GatewayError(
      "challenge_required",
      "Verification required: solve the proof-of-work challenge and send the pass in x-tollgate-pass (POST /v1/challenge/verify).",
      { details: { challenge: issued } },
    );
  }

  /** A pass for a solved challenge, or a 4xx saying what was wrong (a wrong answer counts against the client). */
  async verify(
    identity: Identity,
    submission: ChallengeSubmission,
  ): Promise<{ pass: string; expires_at: number }> {
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
