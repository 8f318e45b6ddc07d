import type { RoutingPolicy } from "../types.js";
import { pickMin } from "./pick-min.js";
import { type PrefixKeyOptions, prefixKey, prefixKeyConfig, rendezvousWeight } from "./prefix-hash.js";

export interface PrefixAffinityOptions extends PrefixKeyOptions {
  /**
   * How far above the mean load a replica may go before its keys spill to their next choice: c in
   * "consistent hashing with bounded loads" (default 1.25, >= 1; Infinity turns the bound off).
   */
  loadFactor?: number;
}

/**
 * Prefix affinity: requests that share a prompt prefix (system prompt, few-shot examples, a conversation so
 * far) go to the same replica, whose prefix cache then skips their shared prefill.
 *
 * The key of the block-aligned first `prefixTokens` tokens (`prefix-hash.ts`) ranks the available replicas by
 * rendezvous hashing, a consistent hash: adding or removing a replica moves only the keys that rank it first.
 * The request goes to the first replica in that order that can take it without exceeding
 *
 *     capacity = ceil(loadFactor x (total outstanding + 1) / available replicas)
 *
 * i.e. whose outstanding + 1 <= capacity: consistent hashing with bounded loads (Mirrokni, Thorup &
 * Zadimoghaddam, SODA 2018), which keeps every replica within loadFactor of the mean even when one prefix is
 * hot, at the price of sending that prefix's overflow to its second and third choices (which then cache it
 * too). For loadFactor >= 1 some replica is always under capacity, since they cannot all be above the mean.
 * The paper's load-after-placement form is used, so the bound holds after the request is counted.
 *
 * When to use: workloads with long shared prefixes (chat with a big system prompt, RAG templates, agents that
 * resend the conversation) on engines with prefix caching. With short, unique prompts it only costs balance.
 */
export function prefixAffinity(options: PrefixAffinityOptions = {}): RoutingPolicy {
  const keyConfig = prefixKeyConfig("prefixAffinity", options);
  const loadFactor = options.loadFactor ?? 1.25;
  if (!(loadFactor >= 1)) {
    throw new RangeError(
      `prefixAffinity: loadFactor must be >= 1 (Infinity for no bound), got ${loadFactor}`,
    );
  }
  return (request, replicas) => {
    let total = 0;
    let available = 0;
    for (const r of replicas) {
      if (!r.available) continue;
      total += r.outstanding;
      available++;
    }
    if (available === 0) return -1;
    const capacity = Math.ceil((loadFactor * (total + 1)) / available);
    const key = prefixKey(request.promptTokens, keyConfig);
    // The first replica in rank order that has room = the highest-ranked among those with room.
    return pickMin(replicas, 0, (r) =>
      r.available && r.outstanding + 1 <= capacity ? -rendezvousWeight(key, r.id) : undefined,
    );
  };
}
