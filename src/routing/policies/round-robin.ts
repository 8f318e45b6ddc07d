import type { RoutingPolicy } from "../types.js";

/**
 * Round robin: the available replicas in turn, the k-th decision going to the (k mod available)-th available
 * replica. It counts only available replicas so that an ejected replica's share is spread over all the others,
 * not handed to its neighbour in the list (as "start at k mod n, skip to the next available" would do).
 *
 * When to use: identical replicas and uniform requests, or as a baseline to compare the others against. It
 * ignores load, so one slow replica or a few very long generations leave it unbalanced.
 */
export const roundRobin: RoutingPolicy = (_request, replicas, context) => {
  let available = 0;
  for (const r of replicas) if (r.available) available++;
  if (available === 0) return -1;
  let k = ((Math.trunc(context.sequence) % available) + available) % available;
  for (let i = 0; i < replicas.length; i++) {
    if (replicas[i]!.available && k-- === 0) return i;
  }
  return -1; // unreachable: k < available
};
