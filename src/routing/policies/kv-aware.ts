import type { RoutingPolicy } from "../types.js";
import { pickMin } from "./pick-min.js";
import { type PrefixKeyOptions, prefixKey, prefixKeyConfig, rendezvousWeight } from "./prefix-hash.js";

export interface KvAwareWeights {
  /** Weight of the min-max normalised queue depth, waiting + outstanding (default 2). */
  queue?: number;
  /** Weight of KV-cache usage, 0..1 (default 2). */
  kvCache?: number;
  /** Bonus of the replica the request's prefix is homed on (default 3). */
  prefix?: number;
}

export interface KvAwareOptions extends PrefixKeyOptions {
  weights?: KvAwareWeights;
}

/**
 * KV-cache aware scoring, after the Kubernetes Gateway API Inference Extension's endpoint picker (EPP), whose
 * default profile sums three scorers: queue-scorer (weight 2), kv-cache-utilization-scorer (weight 2) and
 * prefix-cache-scorer (weight 3) (`config/charts/inferencepool/templates/epp-config.yaml`). Here lower wins:
 *
 *     score = wQueue x (q - qMin) / (qMax - qMin) + wKv x kvCacheUsage - wPrefix x [replica is the prefix home]
 *
 * - q = waiting + outstanding, min-max normalised over the available replicas as the EPP's queue scorer does
 *   (0 for all when they are equal): the relative backlog, independent of pool size and traffic level.
 * - kvCacheUsage: a nearly full KV cache means the engine will soon queue or preempt, even with a short queue.
 * - Prefix home: the gateway cannot see the replicas' caches, so the replica that rendezvous hashing ranks first
 *   for the request's prefix key (as `prefix-affinity` would pick with no load) stands in for "has this prefix
 *   cached". The EPP scores the fraction of prefix blocks it has seen on each endpoint; a 0/1 bonus is the same
 *   thing when the prefix has a single home.
 * Why those weights: each load term spans at most 2, less than the prefix bonus of 3, so neither a longer queue
 * alone nor a fuller cache alone moves a prefix off its home (a prefill saved is worth some queueing), but the
 * two together can (2 + 2 > 3): a home with the longest queue loses its requests once its KV usage is more than
 * 0.5 above another replica's. Ties go in turn.
 *
 * When to use: engines that report their queue and KV usage (vLLM, the simulated engine) serving prompts with
 * shared prefixes, where both cache locality and memory pressure matter. For a single very hot prefix the
 * min-max queue term saturates; `prefix-affinity`'s hard load bound is the stricter guard there.
 */
export function kvAware(options: KvAwareOptions = {}): RoutingPolicy {
  const keyConfig = prefixKeyConfig("kvAware", options);
  const weights = {
    queue: options.weights?.queue ?? 2,
    kvCache: options.weights?.kvCache ?? 2,
    prefix: options.weights?.prefix ?? 3,
  };
  for (const [name, value] of Object.entries(weights)) {
    if (!(Number.isFinite(value) && value >= 0)) {
      throw new RangeError(`kvAware: weights.${name} must be a finite number >= 0, got ${value}`);
    }
  }
  return (request, replicas, context) => {
    const key = prefixKey(request.promptTokens, keyConfig);
    let qMin = Number.POSITIVE_INFINITY;
    let qMax = Number.NEGATIVE_INFINITY;
    let home = -1;
    let homeWeight = -1;
    for (let i = 0; i < replicas.length; i++) {
      const r = replicas[i]!;
      if (!r.available) continue;
      const q = r.waiting + r.outstanding;
      qMin = Math.min(qMin, q);
      qMax = Math.max(qMax, q);
      const w = rendezvousWeight(key, r.id);
      if (w > homeWeight) {
        home = i;
        homeWeight = w;
      }
    }
    if (home === -1) return -1;
    const qRange = qMax - qMin;
    return pickMin(replicas, context.sequence, (r, i) => {
      if (!r.available) return undefined;
      const queue = qRange > 0 ? (r.waiting + r.outstanding - qMin) / qRange : 0;
      return weights.queue * queue + weights.kvCache * r.kvCacheUsage - (i === home ? weights.prefix : 0);
    });
  };
}
