import {
  DEFAULT_EFFICIENCY_SETTINGS,
  defaultEngineSettings,
  NO_FAULTS,
} from "../../src/backends/simulated/defaults.js";
import {
  createSimulatedBackend,
  type SimulatedBackend,
} from "../../src/backends/simulated/simulated-backend.js";
import { HARDWARE_CATALOG, type HardwareProfile } from "../../src/config/catalog/hardware.js";
import { MODEL_CATALOG, type ModelProfile } from "../../src/config/catalog/models.js";
import type { Clock } from "../../src/core/clock.js";

/** The model id contract subjects built on {@link contractSimulatedBackend} serve. */
export const CONTRACT_MODEL = "qwen-small";

/**
 * The simulated engine the contract runs on, alone or inside a wrapper: a small model on a fast GPU, so a
 * decode step (one token) takes about 1.5 ms on the system clock. Natural lengths are far above any maxTokens
 * in the contract, so `length` decides where it stops.
 */
export function contractSimulatedBackend(clock: Clock, deployment = "sim-contract"): SimulatedBackend {
  const hardware = HARDWARE_CATALOG["H100-SXM-80GB"] as HardwareProfile;
  const model = MODEL_CATALOG["Qwen2.5-0.5B"] as ModelProfile;
  return createSimulatedBackend({
    replica: {
      id: `${deployment}/0`,
      deployment,
      model: CONTRACT_MODEL,
      provider: "simulated",
      region: "local",
      gpu: hardware.name,
      gpuCount: 1,
      pricePerGpuHourUsd: hardware.pricePerGpuHourUsd,
    },
    hardware,
    model,
    precision: "bf16",
    kvCacheDtype: "bf16",
    tensorParallel: 1,
    engine: defaultEngineSettings(hardware),
    efficiency: DEFAULT_EFFICIENCY_SETTINGS,
    output: { lengthMedian: 1e6, lengthSigma: 0 },
    faults: NO_FAULTS,
    clock,
    seed: 42,
  });
}
