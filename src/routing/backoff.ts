import type { Random } from "../core/random.js";

/** The two knobs of exponential backoff, in milliseconds. */
export interface BackoffOptions {
  /** Ceiling of the first retry's delay; each later retry doubles it. */
  baseMs: number;
  /** The ceiling never grows past this. */
  maxMs: number;
}

/**
 * Delay before retry number `attempt` (0 = the first retry), by exponential backoff with "full jitter":
 * uniform in [0, min(maxMs, baseMs x 2^attempt)) (Brooker, "Exponential Backoff and Jitter", AWS Architecture
 * Blog, 2015). Full jitter spreads the retries of many clients that failed together over the whole interval,
 * so they do not return in synchronised waves; the article measures it as doing the least total work of the
 * jitter schemes it compares. The mean delay is half the ceiling.
 *
 * Pure: the only state is the injected {@link Random}, so a seeded run gives the same delays every time.
 */
export function backoffDelayMs(attempt: number, options: BackoffOptions, random: Random): number {
  if (!Number.isInteger(attempt) || attempt < 0) {
    throw new RangeError(`backoffDelayMs: attempt must be an integer >= 0, got ${attempt}`);
  }
  const { baseMs, maxMs } = options;
  if (!Number.isFinite(baseMs) || baseMs < 0) {
    throw new RangeError(`backoffDelayMs: baseMs must be a finite number >= 0, got ${baseMs}`);
  }
  if (!Number.isFinite(maxMs) || maxMs < baseMs) {
    throw new RangeError(`backoffDelayMs: maxMs must be a finite number >= baseMs (${baseMs}), got ${maxMs}`);
  }
  // The exponent is clamped so 2 ** n stays finite: baseMs 0 then gives 0 rather than 0 x Infinity = NaN,
  // and any positive base has long since reached maxMs.
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 1023));
  return random.next() * ceiling;
}
