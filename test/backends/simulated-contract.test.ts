import {
  DEFAULT_EFFICIENCY_SETTINGS,
  defaultEngineSettings,
  NO_FAULTS,
} from "../../src/backends/simulated/defaults.js";
import { createSimulatedBackend } from "../../src/backends/simulated/simulated-backend.js";
import { HARDWARE_CATALOG, type HardwareProfile } from "../../src/config/catalog/hardware.js";
import { MODEL_CATALOG, type ModelProfile } from "../../src/config/catalog/models.js";
import { SystemClock } from "../../src/core/clock.js";
import { contractRequests, runBackendContract } from "./contract.js";

/**
 * The simulated engine on real time: a small model on a fast GPU, so a decode step (one token) takes about
 * 1.5 ms. Natural lengths are far above any maxTokens in the contract, so `length` decides where it stops.
 */
runBackendContract("simulated (Qwen2.5-0.5B on H100-SXM-80GB, system clock)", async () => {
  const clock = new SystemClock();
  const hardware = HARDWARE_CATALOG["H100-SXM-80GB"] as HardwareProfile;
  const model = MODEL_CATALOG["Qwen2.5-0.5B"] as ModelProfile;
  const backend = createSimulatedBackend({
    replica: {
      id: "sim-contract/0",
      deployment: "sim-contract",
      model: "qwen-small",
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
  return {
    backend,
    makeRequest: contractRequests({ model: "qwen-small", clock }),
    teardown: () => backend.close(),
  };
});
