/**
 * Time-decayed exponentially weighted moving average, for per-replica latency signals (TTFT, TPOT) that are
 * sampled irregularly: a sample arrives only when a request completes, so a fixed per-sample smoothing factor
 * would make a busy replica's average react in seconds and an idle one's in minutes.
 *
 * Every sample is weighted by 2^(-age / halfLife), and the value is the weighted mean of all samples so far:
 *
 *     S <- S * d + x,   W <- W * d + 1,   value = S / W,   where d = 2^(-dt / halfLife), dt = time since last
 *
 * With samples every dt this converges to the classic update `v += (1 - 2^(-dt/halfLife)) * (x - v)`, so after
 * one half-life of a step change the average has moved half way, whatever the sampling rate. Keeping the weight
 * sum W (rather than updating v directly) fixes two cases the direct update gets wrong:
 * - samples at the same instant (dt = 0: a whole batch finishing in one engine step, common on the virtual
 *   clock) would each get weight 1 - 2^0 = 0 and be dropped; here they are averaged with equal weight;
 * - the first samples are not biased towards an arbitrary initial value: the mean is normalised by W, the
 *   irregular-time form of Adam's bias correction (Kingma & Ba 2015, section 3).
 * After a long quiet gap d -> 0 and the next sample replaces the value, as it should.
 *
 * The value does not decay while no samples arrive: a stale estimate is still the best estimate there is.
 */
export class Ewma {
  readonly halfLifeMs: number;
  #sum = 0;
  #weight = 0;
  #lastMs: number | undefined;

  constructor(options: { halfLifeMs: number }) {
    const { halfLifeMs } = options;
    if (!(Number.isFinite(halfLifeMs) && halfLifeMs > 0)) {
      throw new RangeError(`Ewma: halfLifeMs must be a finite number > 0, got ${halfLifeMs}`);
    }
    this.halfLifeMs = halfLifeMs;
  }

  /** Adds a sample taken at `nowMs`. A clock that goes backwards is treated as no time elapsed. */
  observe(value: number, nowMs: number): void {
    if (!Number.isFinite(value)) throw new RangeError(`Ewma.observe: value must be finite, got ${value}`);
    if (!Number.isFinite(nowMs)) throw new RangeError(`Ewma.observe: nowMs must be finite, got ${nowMs}`);
    const dt = this.#lastMs === undefined ? 0 : Math.max(0, nowMs - this.#lastMs);
    const decay = 2 ** (-dt / this.halfLifeMs);
    this.#sum = this.#sum * decay + value;
    this.#weight = this.#weight * decay + 1;
    this.#lastMs = this.#lastMs === undefined ? nowMs : Math.max(this.#lastMs, nowMs);
  }

  /** The smoothed value, or undefined before the first observation. */
  value(): number | undefined {
    return this.#lastMs === undefined ? undefined : this.#sum / this.#weight;
  }
}
