import type { Random } from "../../src/core/random.js";

export type ArrivalKind = "poisson" | "uniform";

export interface ArrivalOptions {
  /** Mean arrivals per second. */
  rate: number;
  /** Arrivals are generated for offsets in [0, durationMs). */
  durationMs: number;
  kind: ArrivalKind;
  /** Draws the Poisson gaps; unused by the uniform schedule. */
  random: Random;
}

/**
 * Intended send times, in milliseconds from the start of a run, in increasing order.
 *
 * - `uniform`: evenly paced, one arrival every 1000/rate ms starting at 0 (never per-second bursts, which would
 *   measure a burst's queueing rather than the offered rate).
 * - `poisson`: a Poisson process, the usual model of many independent clients (as in vLLM's
 *   benchmark_serving.py `--request-rate`): exponential gaps with mean 1000/rate ms, drawn by inversion.
 */
export function* arrivalOffsetsMs(options: ArrivalOptions): Generator<number, void, undefined> {
  const { rate, durationMs, kind, random } = options;
  if (!(Number.isFinite(rate) && rate > 0)) throw new RangeError(`rate must be a number > 0, got ${rate}`);
  if (!(Number.isFinite(durationMs) && durationMs >= 0)) {
    throw new RangeError(`durationMs must be a number >= 0, got ${durationMs}`);
  }
  const meanGapMs = 1000 / rate;
  if (kind === "uniform") {
    // Multiply rather than accumulate so floating-point error does not drift over a long run.
    for (let i = 0; i * meanGapMs < durationMs; i++) yield i * meanGapMs;
    return;
  }
  let offset = 0;
  for (;;) {
    // 1 - u lies in (0, 1], so the logarithm is finite.
    offset += -Math.log(1 - random.next()) * meanGapMs;
    if (offset >= durationMs) return;
    yield offset;
  }
}
