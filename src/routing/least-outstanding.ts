import { pickMin } from "./policies/pick-min.js";

/**
 * Least outstanding requests over the gateway's own load view, kept for `core/gateway.ts`; the
 * `RoutingPolicy` form is `policies/least-outstanding.ts`. Both share {@link pickMin}, so their
 * tie-breaking is the same: the first replica from `cursor` among equals.
 */
export interface ReplicaLoad {
  ready: boolean;
  outstanding: number;
}

/** Index of the chosen replica, or -1 when none is ready. */
export function pickLeastOutstanding(replicas: readonly ReplicaLoad[], cursor: number): number {
  return pickMin(replicas, cursor, (r) => (r.ready ? r.outstanding : undefined));
}
