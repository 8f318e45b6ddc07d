import type { Config, DeploymentConfig } from "../config/schema.js";
import type { Clock } from "../core/clock.js";
import type { Backend } from "./backend.js";

/**
 * What a backend kind's factory gets besides its deployment. Its own module, below the registry (which lists
 * the factories) and the factories (which implement it), so neither imports the other.
 */
export interface BackendContext {
  config: Config;
  clock: Clock;
}

/** Builds the replicas of one deployment of a backend kind. */
export type BackendFactory = (deployment: DeploymentConfig, context: BackendContext) => Backend[];
