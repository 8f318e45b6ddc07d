import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { simulate } from "../../src/simulate/runner.js";
import { arrivals, type WorkloadSpec } from "../../src/simulate/workload.js";

/** Two L4 replicas with vLLM's prefix caching (the engine default), the response cache at its defaults. */
const INPUT: ConfigInput = {
  models: [{ id: "qwen", profile: "Qwen2.5-0.5B" }],
  deployments: [{ name: "l4", model: "qwen", replicas: 2, backend: { type: "simulated", hardware: "L4" } }],
};
const CONFIG = parseConfig(INPUT);

const WORKLOAD: WorkloadSpec = {
  rate: 4,
  durationS: 30,
  model: "qwen",
  promptTokens: { median: 200, sigma: 0.5, min: 16, max: 2000 },
  outputTokens: { median: 40, sigma: 0.5, min: 1, max: 256 },
  sloClassMix: {},
  clients: 50,
  temperature: 1,
};

describe("simulate with the bench's workload knobs", () => {
  it("shared prefixes show up as prompt tokens served from the engines' prefix caches", async () => {
    const workload: WorkloadSpec = { ...WORKLOAD, sharedPrefix: { ratio: 0.5, prefixes: 4, tokens: 512 } };
    const sharing = [...arrivals(workload, 1)].filter((a) => a.prefix !== undefined).length;
    const plain = await simulate({ config: CONFIG, workload: WORKLOAD, seed: 1 });
    const shared = await simulate({ config: CONFIG, workload, seed: 1 });
    expect(shared.completed).toBe(shared.requests);
    expect(shared.tokens.prompt - plain.tokens.prompt).toBe(sharing * 512);
    // Random words share no full KV block between requests. With a prefix, the chat template's few framing
    // tokens and the 512 shared ones fill at least 32 blocks of 16, reused by every request but the first of
    // each prefix on each replica (4 prefixes x 2 replicas).
    expect(plain.tokens.cachedPrompt).toBe(0);
    expect(shared.tokens.cachedPrompt).toBeGreaterThanOrEqual((sharing - 8) * 512);
  });

  it("exact repeats at temperature 0 are answered by the response cache or a shared generation, at no cost", async () => {
    const workload: WorkloadSpec = { ...WORKLOAD, repeatRatio: 0.4, temperature: 0 };
    const repeats = [...arrivals(workload, 2)].filter((a) => a.prefix?.id.startsWith("#")).length;
    const cached = await simulate({ config: CONFIG, workload, seed: 2 });
    const uncached = await simulate({
      config: parseConfig({ ...INPUT, cache: { enabled: false } }),
      workload,
      seed: 2,
    });
    // Without the cache, temperature 1 or without repeats, every response is generated and costs something.
    const sampled = await simulate({ config: CONFIG, workload: { ...workload, temperature: 1 }, seed: 2 });
    expect(repeats / cached.requests).toBeGreaterThan(0.3);
    expect(cached.completed).toBe(cached.requests);
    for (const report of [uncached, sampled]) {
      expect(report.requests).toBe(cached.requests);
      expect(report.tokens.completion).toBe(cached.tokens.completion);
    }
    // Responses served from the cache or a shared generation cost 0: the first cost bin holds them all.
    expect(cached.cost.perResponseBins[0]!.count).toBeGreaterThanOrEqual(repeats);
    expect(uncached.cost.perResponseBins[0]!.count).toBeLessThan(repeats / 4);
    expect(sampled.cost.perResponseBins[0]!.count).toBeLessThan(repeats / 4);
    expect(cached.cost.attributedUsd).toBeLessThan(uncached.cost.attributedUsd * 0.8);
    expect(cached.cost.attributedUsd).toBeLessThan(sampled.cost.attributedUsd * 0.8);
  });
});
