import type { ConfigInput } from "../../src/config/schema.js";

/**
 * The small live fleet the e2e tests talk to: model "qwen-small" (Qwen2.5-0.5B) on two simulated H100s with
 * short answers (median 12 tokens), so a response takes tens of milliseconds on the system clock.
 */
export function qwenSmallFleet(overrides: Omit<ConfigInput, "models" | "deployments"> = {}): ConfigInput {
  return {
    server: { port: 0 },
    ...overrides,
    models: [{ id: "qwen-small", profile: "Qwen2.5-0.5B" }],
    deployments: [
      {
        name: "qwen-h100",
        model: "qwen-small",
        replicas: 2,
        backend: {
          type: "simulated",
          hardware: "H100-SXM-80GB",
          output: { lengthMedian: 12, lengthSigma: 0.3 },
        },
      },
    ],
  };
}
