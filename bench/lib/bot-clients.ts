import type { Random } from "../../src/core/random.js";
import type { WorkloadRequest } from "./workload.js";

/** The most simulated clients {@link botAddresses} hands out: the 10.0.0.0/8 range less its first address. */
export const MAX_BOTS = 2 ** 24 - 2;

/**
 * Addresses for `count` simulated anonymous clients: 10.0.0.1, 10.0.0.2, ... (a private range no loopback peer
 * has). The gateway sees them only through `x-forwarded-for`, so it must list 127.0.0.1 in
 * `guard.trustedProxies`.
 */
export function botAddresses(count: number): string[] {
  if (!(Number.isInteger(count) && count >= 1 && count <= MAX_BOTS)) {
    throw new RangeError(`count must be an integer in [1, ${MAX_BOTS}], got ${count}`);
  }
  return Array.from({ length: count }, (_, i) => {
    const n = i + 1;
    return `10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  });
}

/**
 * Wraps a request source so each request comes from one of `addresses`, drawn uniformly with `random`: a flood
 * spread over many clients, each sending its share as independent (Poisson-thinned) arrivals.
 */
export function fromBots(options: {
  next: () => WorkloadRequest;
  addresses: readonly string[];
  random: Random;
}): () => WorkloadRequest {
  const { next, addresses, random } = options;
  if (addresses.length === 0) throw new RangeError("addresses must not be empty");
  return () => {
    const request = next();
    const address = addresses[Math.floor(random.next() * addresses.length)]!;
    return { ...request, headers: { ...request.headers, "x-forwarded-for": address } };
  };
}
