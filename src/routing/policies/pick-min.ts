/**
 * The selection loop shared by every "lowest score wins" policy: scan from a rotating start so that equal
 * scores take turns (the pool's decision counter moves the start) instead of always favouring index 0, which
 * would pile ties onto the first replica of the list.
 *
 * `score` returns undefined to exclude an item (unavailable replica, failed constraint). Returns the index of
 * the lowest score, the first one from `start` (wrapping) among equals, or -1 when every item is excluded.
 */
export function pickMin<T>(
  items: readonly T[],
  start: number,
  score: (item: T, index: number) => number | undefined,
): number {
  const n = items.length;
  if (n === 0) return -1;
  const first = ((Math.trunc(start) % n) + n) % n;
  let best = -1;
  let bestScore = 0;
  for (let k = 0; k < n; k++) {
    const i = (first + k) % n;
    const s = score(items[i]!, i);
    // `best === -1` (not a sentinel score) so that an all-Infinity field still yields an available replica.
    if (s !== undefined && (best === -1 || s < bestScore)) {
      best = i;
      bestScore = s;
    }
  }
  return best;
}
