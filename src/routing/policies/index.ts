import type { RoutingPolicy } from "../types.js";
import { type KvAwareOptions, kvAware } from "./kv-aware.js";
import type { LatencyModelOptions } from "./latency-estimate.js";
import { leastOutstanding } from "./least-outstanding.js";
import { lowestCost } from "./lowest-cost.js";
import { lowestLatency } from "./lowest-latency.js";
import { type PrefixAffinityOptions, prefixAffinity } from "./prefix-affinity.js";
import { roundRobin } from "./round-robin.js";
import { weightedRandom } from "./weighted-random.js";

/**
 * The routing policies by name: the one table the config refers to (`z.enum(POLICY_NAMES)`). Each module's
 * doc comment says when to use it. Factories validate their options once, here, not per decision.
 */
export const POLICY_NAMES = [
  "round-robin",
  "weighted-random",
  "least-outstanding",
  "lowest-latency",
  "lowest-cost",
  "prefix-affinity",
  "kv-aware",
] as const;

export type PolicyName = (typeof POLICY_NAMES)[number];

/** Options each policy accepts; the stateless ones take none. */
export interface PolicyOptions {
  "round-robin": undefined;
  "weighted-random": undefined;
  "least-outstanding": undefined;
  "lowest-latency": LatencyModelOptions;
  "lowest-cost": LatencyModelOptions;
  "prefix-affinity": PrefixAffinityOptions;
  "kv-aware": KvAwareOptions;
}

export const POLICIES: { readonly [K in PolicyName]: (options?: PolicyOptions[K]) => RoutingPolicy } = {
  "round-robin": () => roundRobin,
  "weighted-random": () => weightedRandom,
  "least-outstanding": () => leastOutstanding,
  "lowest-latency": lowestLatency,
  "lowest-cost": lowestCost,
  "prefix-affinity": prefixAffinity,
  "kv-aware": kvAware,
};

export function createPolicy<K extends PolicyName>(name: K, options?: PolicyOptions[K]): RoutingPolicy {
  const factory: (options?: PolicyOptions[K]) => RoutingPolicy = POLICIES[name];
  return factory(options);
}

export type { KvAwareOptions, KvAwareWeights } from "./kv-aware.js";
export type { LatencyModelOptions } from "./latency-estimate.js";
export type { PrefixAffinityOptions } from "./prefix-affinity.js";
export type { PrefixKeyOptions } from "./prefix-hash.js";
export { kvAware, leastOutstanding, lowestCost, lowestLatency, prefixAffinity, roundRobin, weightedRandom };
