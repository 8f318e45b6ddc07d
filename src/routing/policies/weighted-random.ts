import type { RoutingPolicy } from "../types.js";

/**
 * Weighted random: an available replica with probability weight / (sum of available weights), drawn from the
 * injected `context.random` (inverse-CDF over the weights, one draw per decision). A replica with weight 0 is a
 * standby: it is chosen (uniformly among standbys) only when no available replica has a positive weight.
 *
 * When to use: replicas of unequal capacity (an H100 beside an A10G, weights proportional to throughput), canary
 * or migration splits ("5% to the new pool"). Like round robin it does not see load; it needs no shared
 * counter, so several gateway instances split traffic the same way without coordinating.
 */
export const weightedRandom: RoutingPolicy = (_request, replicas, context) => {
  let total = 0;
  let standbys = 0;
  for (const r of replicas) {
    if (!r.available) continue;
    if (r.weight > 0) total += r.weight;
    else standbys++;
  }
  if (total > 0) {
    let x = context.random.next() * total;
    let last = -1;
    for (let i = 0; i < replicas.length; i++) {
      const r = replicas[i]!;
      if (!r.available || !(r.weight > 0)) continue;
      last = i;
      x -= r.weight;
      if (x < 0) return i;
    }
    return last; // rounding left x at ~0 after the last weight
  }
  if (standbys === 0) return -1;
  let k = Math.min(standbys - 1, Math.floor(context.random.next() * standbys));
  for (let i = 0; i < replicas.length; i++) {
    if (replicas[i]!.available && k-- === 0) return i;
  }
  return -1;
};
