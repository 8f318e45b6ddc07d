import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { simulationConfig } from "../../src/simulate/run-setup.js";

describe("simulationConfig", () => {
  it("keeps the store in memory even when the config (or REDIS_URL) names a Redis", () => {
    const config = parseConfig({
      store: { url: "redis://127.0.0.1:6379", maxBytes: 1_000_000 },
      models: [{ id: "m", profile: "Qwen2.5-0.5B" }],
      deployments: [{ name: "d", model: "m", backend: { type: "simulated", hardware: "L4" } }],
    });
    const simulated = simulationConfig(config);
    expect(simulated.store.url).toBeUndefined();
    expect(simulated.store.maxBytes).toBe(1_000_000);
    // Every simulated deployment generates to max_tokens, so outputs have the workload's exact lengths.
    const backend = simulated.deployments[0]!.backend;
    expect(backend.type === "simulated" && backend.output.lengthSigma).toBe(0);
  });
});
