import { ConfigError } from "../config/load.js";
import type { Config, DeploymentConfig } from "../config/schema.js";
import type { Clock } from "../core/clock.js";
import type { Backend } from "./backend.js";
import { createOpenAiHttpReplicas } from "./openai-http/from-config.js";
import { createSimulatedReplicas } from "./simulated/from-config.js";

/** What a backend factory gets besides its deployment. */
export interface BackendContext {
  config: Config;
  clock: Clock;
}

type BackendType = DeploymentConfig["backend"]["type"];
type Factory = (deployment: DeploymentConfig, context: BackendContext) => Backend[];

/** Backend kinds by the `backend.type` config value. Adding a kind is one entry here. */
const FACTORIES: Record<BackendType, Factory> = {
  simulated: createSimulatedReplicas,
  "openai-http": createOpenAiHttpReplicas,
};

/**
 * Builds every replica of every deployment. A deployment that cannot be built (say, weights that do not fit the
 * GPU) is a configuration error, reported with every other one at once.
 */
export function createBackends(context: BackendContext): Backend[] {
  const problems: string[] = [];
  const backends = context.config.deployments.flatMap((deployment, i) => {
    try {
      return FACTORIES[deployment.backend.type](deployment, context);
    } catch (error) {
      problems.push(`deployments.${i} (${deployment.name}): ${(error as Error).message}`);
      return [];
    }
  });
  if (problems.length > 0) throw new ConfigError("config", problems);
  return backends;
}
