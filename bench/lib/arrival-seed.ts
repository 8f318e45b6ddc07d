import { SeededRandom } from "../../src/core/random.js";
import { arrivalOffsetsMs } from "./arrivals.js";

/** Arrival counts may differ from rate x window by this share at most (see {@link windowedArrivalSeed}). */
export const ARRIVAL_TOLERANCE = 0.02;

/** Seeds tried, from 1, before giving up. */
const MAX_SEED = 1000;

/**
 * The first seed from 1 whose Poisson schedule over `warmupMs + windowMs` puts rate x window arrivals, within
 * `tolerance` (default {@link ARRIVAL_TOLERANCE}), in the measured window [warmupMs, warmupMs + windowMs). A
 * seed drawn blind can be 2-3 sigma off over an 8 s window (seed 1002 put 371 arrivals where 321 were due,
 * turning a 0.9x load into 1.04x); runs that share the returned seed still share one schedule.
 */
export function windowedArrivalSeed(o: {
  rate: number;
  warmupMs: number;
  windowMs: number;
  tolerance?: number;
}): number {
  const tolerance = o.tolerance ?? ARRIVAL_TOLERANCE;
  const due = (o.rate * o.windowMs) / 1000;
  for (let seed = 1; seed <= MAX_SEED; seed++) {
    const inWindow = arrivalsInWindow({ ...o, seed });
    if (Math.abs(inWindow - due) <= tolerance * due) return seed;
  }
  throw new Error(`no seed in 1-${MAX_SEED} puts ${due.toFixed(0)} arrivals in the window`);
}

/** Arrivals at or after `warmupMs` in the seeded Poisson schedule of `warmupMs + windowMs`. */
export function arrivalsInWindow(o: {
  rate: number;
  warmupMs: number;
  windowMs: number;
  seed: number;
}): number {
  const offsets = arrivalOffsetsMs({
    rate: o.rate,
    durationMs: o.warmupMs + o.windowMs,
    kind: "poisson",
    random: new SeededRandom(o.seed),
  });
  let inWindow = 0;
  for (const offset of offsets) if (offset >= o.warmupMs) inWindow++;
  return inWindow;
}
