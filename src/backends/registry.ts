import type { Clock } from "../core/clock.js";
import type { Config, DeploymentConfig } from "../config/schema.js";
import type { Backend } from "./backend.js";
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
};

/** Builds every replica of every deployment. */
export function createBackends(context: BackendContext): Backend[] {
  return context.config.deployments.flatMap((deployment) => FACTORIES[deployment.backend.type](deployment, context));
}
