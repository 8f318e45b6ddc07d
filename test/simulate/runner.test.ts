import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { type SimulationReport, simulate } from "../../src/simulate/runner.js";
import { CHAT_LENGTHS, type WorkloadSpec } from "../../src/simulate/workload.js";

const CONFIG = parseConfig({
  models: [{ id: "qwen", profile: "Qwen2.5-0.5B" }],
  deployments: [{ name: "l4", model: "qwen", replicas: 2, backend: { type: "simulated", hardware: "L4" } }],
});

const WORKLOAD: WorkloadSpec = {
  rate: 2,
  durationS: 20,
  model: "qwen",
  ...CHAT_LENGTHS,
  sloClassMix: {},
  clients: 50,
  temperature: 1,
};

const withoutWall = ({ wallSeconds: _wall, peakRssBytes: _rss, ...rest }: SimulationReport) => rest;

describe("simulate", () => {
  it("serves a light workload completely, with plausible latencies, tokens and cost", async () => {
    const report = await simulate({ config: CONFIG, workload: WORKLOAD, seed: 1 });
    expect(report.requests).toBeGreaterThan(25);
    expect(report.requests).toBeLessThan(60);
    expect(report.completed).toBe(report.requests);
    expect(report.errors).toEqual({});
    const standard = report.classes["standard"]!;
    expect(standard.completed).toBe(report.requests);
    expect(standard.ttftMs.p50).toBeGreaterThan(0);
    expect(standard.ttftMs.p99).toBeGreaterThanOrEqual(standard.ttftMs.p50);
    expect(standard.tpotMs.p50).toBeGreaterThan(0);
    expect(standard.e2eMs.p50).toBeGreaterThan(standard.ttftMs.p50);
    expect(report.sloAttainment).toBeGreaterThan(0.9);
    expect(report.goodputPerSecond).toBeCloseTo(report.sloMet / report.simulatedSeconds, 9);
    expect(report.tokens.prompt).toBeGreaterThan(report.requests * 16);
    expect(report.throughputTokensPerSecond).toBeGreaterThan(0);
    expect(report.cost.meanPerResponseUsd).toBeGreaterThan(0);
    // Replicas cost money while idle too: the spend covers at least what was attributed to responses.
    expect(report.cost.spendUsd).toBeGreaterThanOrEqual(report.cost.attributedUsd);
    expect(report.simulatedSeconds).toBeGreaterThanOrEqual(20);
  });

  it("generates exactly each request's max_tokens", async () => {
    const fixed = { median: 37, sigma: 0, min: 1, max: 1024 };
    const report = await simulate({
      config: CONFIG,
      workload: { ...WORKLOAD, durationS: 5, outputTokens: fixed },
      seed: 2,
    });
    expect(report.completed).toBeGreaterThan(0);
    expect(report.tokens.completion).toBe(report.completed * 37);
  });

  it("gives identical reports for the same seed, except the wall time", async () => {
    const workload = { ...WORKLOAD, sloClassMix: { standard: 1, batch: 1 } };
    const first = await simulate({ config: CONFIG, workload, seed: 5 });
    const second = await simulate({ config: CONFIG, workload, seed: 5 });
    expect(withoutWall(second)).toEqual(withoutWall(first));
    expect(Object.keys(first.classes).sort()).toEqual(["batch", "standard"]);
    const other = await simulate({ config: CONFIG, workload, seed: 6 });
    expect(other.requests === first.requests && other.tokens.prompt === first.tokens.prompt).toBe(false);
  });

  it("counts the guard's refusals by error code", async () => {
    const config = parseConfig({
      models: [{ id: "qwen", profile: "Qwen2.5-0.5B" }],
      deployments: [
        { name: "l4", model: "qwen", replicas: 2, backend: { type: "simulated", hardware: "L4" } },
      ],
      guard: { anonymous: { limits: { requestsPerMinute: 6 } }, challenge: { enabled: false } },
    });
    const report = await simulate({ config, workload: { ...WORKLOAD, clients: 1 }, seed: 1 });
    expect(report.errors["rate_limit_exceeded"]).toBeGreaterThan(0);
    expect(report.completed + report.errors["rate_limit_exceeded"]!).toBe(report.requests);
    const unguarded = await simulate({
      config,
      workload: { ...WORKLOAD, clients: 1 },
      seed: 1,
      guard: false,
    });
    expect(unguarded.completed).toBe(unguarded.requests);
  });
});
