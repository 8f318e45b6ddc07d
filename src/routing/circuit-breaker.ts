import { SlidingCounts } from "./retry-budget.js";

export type BreakerState = "closed" | "open" | "half-open";

export interface BreakerSettings {
  /** Open after this many failures in a row. */
  consecutiveFailures: number;
  /** Open when failures / requests over the window exceed this (0..1; 1 turns rate-tripping off)... */
  errorRate: number;
  /** ...provided the window holds at least this many requests, so two failures out of three do not trip. */
  minRequests: number;
  /** Rolling window of the error rate; whole seconds (one bucket per second). */
  windowMs: number;
  /** Cool-down after opening before a probe is let through. */
  openMs: number;
  /** The cool-down doubles on each failed probe, up to this. */
  maxOpenMs: number;
  /** Trial requests allowed at once while half-open. */
  halfOpenProbes: number;
}

/**
 * Defaults, and why: error rate 50% over 10 s with at least 20 requests, and a 5 s cool-down, are Hystrix's
 * defaults (circuitBreaker.errorThresholdPercentage, requestVolumeThreshold, sleepWindowInMilliseconds and a
 * 10 s metrics.rollingStats window; Netflix Hystrix wiki, "Configuration"). 5 consecutive failures is the
 * default of Envoy's outlier detection (consecutive_5xx), which catches a dead replica within a few requests
 * when traffic is too low for the rate rule. One probe at a time: an LLM probe occupies a GPU for a whole
 * generation, so one is enough evidence. The 60 s cap is below Envoy's 300 s max_ejection_time because an LLM
 * pool has few replicas and each one held out is a large share of its capacity.
 */
export const DEFAULT_BREAKER_SETTINGS: Readonly<BreakerSettings> = Object.freeze({
  consecutiveFailures: 5,
  errorRate: 0.5,
  minRequests: 20,
  windowMs: 10_000,
  openMs: 5_000,
  maxOpenMs: 60_000,
  halfOpenProbes: 1,
});

export interface BreakerHooks {
  /** Called on every state change, with the time at which the breaker observed it (for metrics and logs). */
  onTransition?: (from: BreakerState, to: BreakerState, nowMs: number) => void;
}

/**
 * A per-replica circuit breaker: closed (all traffic) -> open (none, for a cool-down) -> half-open (a few
 * probes) -> closed on a probe's success, or open again with the cool-down doubled, up to `maxOpenMs`, on a
 * probe's failure (the growing hold-out of Envoy's outlier ejection). Closed trips on either rule: N
 * consecutive failures, or an error rate above `errorRate` over a rolling window with at least `minRequests`.
 *
 * It owns no timer and reads no clock: every method takes `nowMs`, and open -> half-open happens lazily when a
 * call sees the cool-down has passed, so it runs identically on the virtual clock. That is why this is a small
 * state machine rather than cockatiel or opossum: cockatiel reads Date.now() and wraps the call in
 * `execute(fn)`, and opossum schedules its reset with setTimeout and rotates its rolling window on a
 * setInterval; neither takes an injected clock, and neither lets a caller report the outcome of a stream that
 * ends long after it was admitted.
 *
 * Caller protocol: `allow(nowMs)` before sending; then exactly one of `onSuccess`, `onFailure` (only for
 * failures that are the replica's fault, see isRetryable) or `onCancel` (the client left: no verdict). Outcomes
 * reported while open, or while half-open with no probe outstanding, come from requests admitted before the
 * breaker opened and are ignored: the breaker already acted on that evidence.
 */
export class CircuitBreaker {
  readonly #settings: BreakerSettings;
  readonly #onTransition: BreakerHooks["onTransition"];
  readonly #window: SlidingCounts<"successes" | "failures">;
  #state: BreakerState = "closed";
  #consecutive = 0;
  #openedAtMs = 0;
  #cooldownMs: number;
  #probes = 0;
  #transitions = 0;

  constructor(settings: BreakerSettings, hooks: BreakerHooks = {}) {
    validate(settings);
    this.#settings = { ...settings };
    this.#onTransition = hooks.onTransition;
    this.#window = new SlidingCounts(["successes", "failures"], settings.windowMs / 1000);
    this.#cooldownMs = settings.openMs;
  }

  /** State changes so far (closed -> open -> half-open -> closed is three). */
  get transitions(): number {
    return this.#transitions;
  }

  /** The cool-down the breaker is in, or would use on its next opening. */
  get cooldownMs(): number {
    return this.#cooldownMs;
  }

  state(nowMs: number): BreakerState {
    if (this.#state === "open" && nowMs >= this.#openedAtMs + this.#cooldownMs) {
      this.#probes = 0;
      this.#transition("half-open", nowMs);
    }
    return this.#state;
  }

  /** Whether a request may go to the replica now; in half-open, each true reserves one probe slot. */
  allow(nowMs: number): boolean {
    switch (this.state(nowMs)) {
      case "closed":
        return true;
      case "open":
        return false;
      case "half-open":
        if (this.#probes >= this.#settings.halfOpenProbes) return false;
        this.#probes++;
        return true;
    }
  }

  onSuccess(nowMs: number): void {
    const state = this.state(nowMs);
    if (state === "closed") {
      this.#consecutive = 0;
      this.#window.add(nowMs, "successes");
    } else if (state === "half-open" && this.#probes > 0) {
      this.#close(nowMs);
    }
  }

  onFailure(nowMs: number): void {
    const state = this.state(nowMs);
    if (state === "closed") {
      this.#consecutive++;
      this.#window.add(nowMs, "failures");
      if (this.#shouldTrip(nowMs)) this.#open(nowMs, this.#settings.openMs);
    } else if (state === "half-open" && this.#probes > 0) {
      this.#open(nowMs, Math.min(this.#cooldownMs * 2, this.#settings.maxOpenMs));
    }
  }

  /** The request ended with no verdict on the replica (client abort): frees its probe slot if it held one. */
  onCancel(nowMs: number): void {
    if (this.state(nowMs) === "half-open" && this.#probes > 0) this.#probes--;
  }

  /**
   * Only a failure can trip: a success never makes the replica look worse, and the next failure re-checks.
   * The rate rule is strict (`>`), as in Hystrix, so the default 50% needs more failures than successes.
   */
  #shouldTrip(nowMs: number): boolean {
    if (this.#consecutive >= this.#settings.consecutiveFailures) return true;
    const { successes, failures } = this.#window.totals(nowMs);
    const total = successes + failures;
    return total >= this.#settings.minRequests && failures / total > this.#settings.errorRate;
  }

  #open(nowMs: number, cooldownMs: number): void {
    this.#openedAtMs = nowMs;
    this.#cooldownMs = cooldownMs;
    this.#probes = 0;
    this.#transition("open", nowMs);
  }

  /** A good probe: judge the replica afresh, with the base cool-down next time. */
  #close(nowMs: number): void {
    this.#consecutive = 0;
    this.#cooldownMs = this.#settings.openMs;
    this.#probes = 0;
    this.#window.clear();
    this.#transition("closed", nowMs);
  }

  #transition(to: BreakerState, nowMs: number): void {
    const from = this.#state;
    this.#state = to;
    this.#transitions++;
    this.#onTransition?.(from, to, nowMs);
  }
}

function validate(s: BreakerSettings): void {
  const fail = (field: keyof BreakerSettings, rule: string): never => {
    throw new RangeError(`CircuitBreaker: ${field} must be ${rule}, got ${s[field]}`);
  };
  if (!Number.isInteger(s.consecutiveFailures) || s.consecutiveFailures < 1) {
    fail("consecutiveFailures", "an integer >= 1");
  }
  if (!(s.errorRate >= 0 && s.errorRate <= 1)) fail("errorRate", "a number in [0, 1]");
  if (!Number.isInteger(s.minRequests) || s.minRequests < 1) fail("minRequests", "an integer >= 1");
  if (!Number.isInteger(s.windowMs) || s.windowMs < 1000 || s.windowMs % 1000 !== 0) {
    fail("windowMs", "a whole number of seconds >= 1000");
  }
  if (!Number.isFinite(s.openMs) || s.openMs <= 0) fail("openMs", "a finite number > 0");
  if (!Number.isFinite(s.maxOpenMs) || s.maxOpenMs < s.openMs) fail("maxOpenMs", "a finite number >= openMs");
  if (!Number.isInteger(s.halfOpenProbes) || s.halfOpenProbes < 1) fail("halfOpenProbes", "an integer >= 1");
}
