import type { RoutingPolicy } from "../types.js";
import { pickMin } from "./pick-min.js";

/**
 * Least outstanding requests: the available replica with the fewest requests in flight from this gateway,
 * ties taken in turn (the scan starts at `context.sequence`), so equal replicas share the load evenly.
 *
 * When to use: the default. It adapts to a slow or overloaded replica without any model of its speed (a slow
 * replica holds its requests longer, so it is picked less), which is why it is Envoy's `LEAST_REQUEST` and the
 * usual choice for LLM pools. It only sees this gateway's own traffic; with many gateways prefer a policy that
 * reads the replica's reported queue (`kv-aware`, `lowest-latency`).
 */
export const leastOutstanding: RoutingPolicy = (_request, replicas, context) =>
  pickMin(replicas, context.sequence, (r) => (r.available ? r.outstanding : undefined));
