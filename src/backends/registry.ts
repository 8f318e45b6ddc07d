import { ConfigError } from "../config/load.js";
import type { DeploymentConfig } from "../config/schema.js";
import type { Backend } from "./backend.js";
import type { BackendContext, BackendFactory } from "./factory.js";
import { createOpenAiHttpReplicas } from "./openai-http/from-config.js";
import { createSimulatedReplicas } from "./simulated/from-config.js";

type BackendType = DeploymentConfig["backend"]["type"];

/** Backend kinds by the `backend.type` config value. Adding a kind is one entry here. */
const FACTORIES: Record<BackendType, BackendFactory> = {
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
