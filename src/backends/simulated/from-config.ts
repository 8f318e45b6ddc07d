import { hardwareProfile, modelProfile } from "../../config/profiles.js";
import type { DeploymentConfig } from "../../config/schema.js";
import { hashString } from "../../core/random.js";
import type { Backend, ReplicaInfo } from "../backend.js";
import type { BackendContext } from "../factory.js";
import { defaultEngineSettings } from "./defaults.js";
import { createSimulatedBackend } from "./simulated-backend.js";

/** Builds the replicas of a simulated deployment: catalog profiles plus config defaults and overrides. */
export function createSimulatedReplicas(
  deployment: DeploymentConfig,
  { config, clock }: BackendContext,
): Backend[] {
  const backend = deployment.backend;
  if (backend.type !== "simulated") throw new Error(`deployment ${deployment.name} is not simulated`);
  const modelConfig = config.models.find((m) => m.id === deployment.model);
  if (modelConfig === undefined)
    throw new Error(`deployment ${deployment.name}: unknown model ${deployment.model}`);
  const hardware = hardwareProfile(config, backend.hardware);
  const profile = modelProfile(config, modelConfig.profile);
  const model =
    modelConfig.contextLength === undefined
      ? profile
      : { ...profile, contextLength: modelConfig.contextLength };
  const engine = { ...defaultEngineSettings(hardware), ...config.defaults.engine, ...backend.engine };
  const efficiency = { ...config.defaults.efficiency, ...backend.efficiency };
  const output = { ...config.defaults.output, ...backend.output };
  const price = backend.pricePerGpuHourUsd ?? hardware.pricePerGpuHourUsd;
  return Array.from({ length: deployment.replicas }, (_, i) => {
    const id = `${deployment.name}/${i}`;
    const replica: ReplicaInfo = {
      id,
      deployment: deployment.name,
      model: deployment.model,
      provider: deployment.provider,
      region: deployment.region,
      gpu: hardware.name,
      gpuCount: backend.tensorParallel,
      pricePerGpuHourUsd: price,
      maxRunningSequences: engine.maxNumSeqs,
    };
    const simulated = createSimulatedBackend({
      replica,
      hardware,
      model,
      precision: backend.precision,
      kvCacheDtype: backend.kvCacheDtype,
      tensorParallel: backend.tensorParallel,
      engine,
      efficiency,
      output,
      faults: backend.faults,
      clock,
      latencyProfile: backend.latency,
      // Each replica gets its own stream, stable across runs for the same config seed.
      seed: hashString(id, config.seed >>> 0),
    });
    const capacity = simulated.capacity();
    replica.maxContextTokens = capacity.maxContextTokens;
    replica.kvCacheTokens = capacity.maxTokensInKv;
    replica.maxBatchedTokens = capacity.maxBatchedTokens;
    if (capacity.prefillTokensPerSecond !== undefined)
      replica.prefillTokensPerSecond = capacity.prefillTokensPerSecond;
    return simulated;
  });
}
