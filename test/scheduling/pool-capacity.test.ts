import { describe, expect, it } from "vitest";
import {
  DEFAULT_PER_REPLICA,
  PoolCapacity,
  type ReplicaCapacity,
} from "../../src/scheduling/pool-capacity.js";

const H100_70B: ReplicaCapacity = {
  maxRunningSequences: 1_024,
  kvCacheTokens: 1_400_000,
  maxBatchedTokens: 8_192,
  prefillTokensPerSecond: 30_000,
};

describe("PoolCapacity", () => {
  it.each([
    // [what, replicas, configured per replica, typical prompt, expected limit]
    ["no request seen yet: the batch limit", [H100_70B], undefined, undefined, 1_024],
    ["short prompts: the batch limit binds", [H100_70B], undefined, 500, 1_024],
    ["8k prompts: KV binds (1.4M / 8,256)", [H100_70B], undefined, 8_000, 169],
    ["two replicas add up", [H100_70B, H100_70B], undefined, 8_000, 338],
    ["configured limit wins", [H100_70B], 16, 8_000, 16],
    ["HTTP upstream: the default", [{}], undefined, 8_000, DEFAULT_PER_REPLICA],
    ["a prompt larger than the KV still gets one slot", [H100_70B], undefined, 5_000_000, 1],
  ] as const)("slots: %s", (_what, replicas, configured, prompt, expected) => {
    const capacity = new PoolCapacity({
      replicas,
      halfLifeMs: 5_000,
      ...(configured !== undefined && { maxConcurrentPerReplica: configured }),
    });
    if (prompt !== undefined) capacity.observePrompt(prompt, 0);
    expect(capacity.concurrencyLimit()).toBe(expected);
  });

  it("learns the typical completion length from finished requests", () => {
    const capacity = new PoolCapacity({ replicas: [H100_70B], halfLifeMs: 5_000 });
    capacity.observePrompt(8_000, 0);
    expect(capacity.typicalSequenceTokens()).toBe(8_256);
    capacity.observeCompletion(2_000, 0);
    expect(capacity.typicalSequenceTokens()).toBe(10_000);
    expect(capacity.concurrencyLimit()).toBe(140);
  });

  it("bounds the prefill backlog at two steps per replica, or as configured, or not at all when unknown", () => {
    const two = new PoolCapacity({ replicas: [H100_70B, H100_70B], halfLifeMs: 5_000 });
    expect(two.prefillBacklogLimit()).toBe(4 * 8_192);
    const configured = new PoolCapacity({
      replicas: [H100_70B, {}],
      prefillBacklogTokensPerReplica: 1_000,
      halfLifeMs: 5_000,
    });
    expect(configured.prefillBacklogLimit()).toBe(2_000);
    const http = new PoolCapacity({ replicas: [{}], halfLifeMs: 5_000 });
    expect(http.prefillBacklogLimit()).toBe(Number.POSITIVE_INFINITY);
  });

  it("gives a step's time at the pool's rate, or 0 when the step size is unknown", () => {
    expect(new PoolCapacity({ replicas: [H100_70B, H100_70B], halfLifeMs: 1 }).stepMs(40_960)).toBe(400);
    expect(new PoolCapacity({ replicas: [H100_70B, {}], halfLifeMs: 1 }).stepMs(40_960)).toBe(0);
  });

  it("sums the replicas' prefill estimates only when every replica has one", () => {
    expect(new PoolCapacity({ replicas: [H100_70B, H100_70B], halfLifeMs: 1 }).prefillPrior()).toBe(60_000);
    expect(new PoolCapacity({ replicas: [H100_70B, {}], halfLifeMs: 1 }).prefillPrior()).toBeUndefined();
  });
});
