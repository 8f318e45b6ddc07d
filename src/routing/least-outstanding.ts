/**
 * Least outstanding requests: send the request to the ready replica with the fewest requests in flight from
 * this gateway, breaking ties round-robin from `cursor` so equal replicas share the load evenly. This is the
 * default policy of Envoy's and most gateways' LLM pools because it adapts to slow replicas without any model
 * of their speed; later issues add latency-, cost- and prefix-aware policies beside it.
 */
export interface ReplicaLoad {
  ready: boolean;
  outstanding: number;
}

/** Index of the chosen replica, or -1 when none is ready. */
export function pickLeastOutstanding(replicas: readonly ReplicaLoad[], cursor: number): number {
  let best = -1;
  let bestLoad = Number.POSITIVE_INFINITY;
  const n = replicas.length;
  for (let k = 0; k < n; k++) {
    const i = (cursor + k) % n;
    const r = replicas[i]!;
    if (r.ready && r.outstanding < bestLoad) {
      best = i;
      bestLoad = r.outstanding;
    }
  }
  return best;
}
