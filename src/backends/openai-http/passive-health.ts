import type { Clock } from "../../core/clock.js";

/**
 * Passive readiness of an upstream, from the outcomes of real requests (no probes of its own): after
 * `failuresBeforeUnready` consecutive connection failures the replica is not ready. It is ready again as soon
 * as the upstream answers any request with response headers, or, so that a replica no one routes to can prove
 * it came back, once `probeAfterMs` has passed since the last failure (the next request is then the probe).
 */
export class PassiveHealth {
  readonly #clock: Clock;
  readonly #threshold: number;
  readonly #probeAfterMs: number;
  #consecutiveFailures = 0;
  #lastFailureMs = 0;

  constructor(options: { clock: Clock; failuresBeforeUnready: number; probeAfterMs: number }) {
    this.#clock = options.clock;
    this.#threshold = options.failuresBeforeUnready;
    this.#probeAfterMs = options.probeAfterMs;
  }

  get ready(): boolean {
    if (this.#consecutiveFailures < this.#threshold) return true;
    return this.#clock.now() - this.#lastFailureMs >= this.#probeAfterMs;
  }

  get consecutiveFailures(): number {
    return this.#consecutiveFailures;
  }

  /** The upstream could not be reached (refused, reset before answering, DNS, connect timeout). */
  connectionFailed(): void {
    this.#consecutiveFailures++;
    this.#lastFailureMs = this.#clock.now();
  }

  /** The upstream answered: it is reachable, whatever the status. */
  answered(): void {
    this.#consecutiveFailures = 0;
  }
}
