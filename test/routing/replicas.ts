import { SeededRandom } from "../../src/core/random.js";
import type { PolicyContext, ReplicaView, RouteRequest } from "../../src/routing/types.js";

/** An idle, available replica with no observations; override what the test is about. */
export function replica(id: string, overrides: Partial<ReplicaView> = {}): ReplicaView {
  return {
    id,
    deployment: "d",
    provider: "sim",
    region: "local",
    gpu: "H100",
    weight: 1,
    pricePerHourUsd: 4,
    available: true,
    outstanding: 0,
    running: 0,
    waiting: 0,
    kvCacheUsage: 0,
    ttftEwmaMs: undefined,
    tpotEwmaMs: undefined,
    ...overrides,
  };
}

export function pool(count: number, overrides: Partial<ReplicaView> = {}): ReplicaView[] {
  return Array.from({ length: count }, (_, i) => replica(`r${i}`, overrides));
}

export function context(sequence = 0, random = new SeededRandom(1)): PolicyContext {
  return { nowMs: 0, random, sequence };
}

/** A request whose prompt is `prefix` followed by `suffixLength` tokens drawn from `random`. */
export function request(
  prefix: readonly number[] = [],
  options: {
    suffixLength?: number;
    random?: SeededRandom;
    maxTokens?: number;
    slo?: RouteRequest["slo"];
  } = {},
): RouteRequest {
  const random = options.random ?? new SeededRandom(7);
  const suffix = Array.from({ length: options.suffixLength ?? 0 }, () => random.int(0, 100_000));
  return {
    promptTokens: [...prefix, ...suffix],
    maxTokens: options.maxTokens ?? 64,
    ...(options.slo && { slo: options.slo }),
  };
}

export function tokens(count: number, random: SeededRandom): number[] {
  return Array.from({ length: count }, () => random.int(0, 100_000));
}
