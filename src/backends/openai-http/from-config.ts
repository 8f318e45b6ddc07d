import type { DeploymentConfig } from "../../config/schema.js";
import type { Backend, ReplicaInfo } from "../backend.js";
import type { BackendContext } from "../factory.js";
import { createOpenAiHttpBackend } from "./openai-http-backend.js";

/**
 * Builds the replicas of an `openai-http` deployment. Each replica is its own keep-alive pool to the same URL
 * (`replicas` > 1 makes sense behind a load balancer that spreads connections). Timeouts come from the model's
 * routing settings, so the upstream call and the dispatcher agree on them.
 */
export function createOpenAiHttpReplicas(
  deployment: DeploymentConfig,
  { config, clock }: BackendContext,
): Backend[] {
  const backend = deployment.backend;
  if (backend.type !== "openai-http") throw new Error(`deployment ${deployment.name} is not openai-http`);
  const model = config.models.find((m) => m.id === deployment.model);
  if (model === undefined)
    throw new Error(`deployment ${deployment.name}: unknown model ${deployment.model}`);
  const { timeouts } = model.routing;
  return Array.from({ length: deployment.replicas }, (_, i) => {
    const replica: ReplicaInfo = {
      id: `${deployment.name}/${i}`,
      deployment: deployment.name,
      model: deployment.model,
      provider: deployment.provider,
      region: deployment.region,
      gpu: backend.gpu,
      gpuCount: 1,
      pricePerGpuHourUsd: backend.pricePerGpuHourUsd,
    };
    return createOpenAiHttpBackend({
      replica,
      baseUrl: backend.url.replace(/\/+$/, ""),
      ...(backend.apiKey !== undefined && { apiKey: backend.apiKey }),
      headers: backend.headers,
      ...(backend.upstreamModel !== undefined && { upstreamModel: backend.upstreamModel }),
      timeouts: {
        connectMs: timeouts.connectMs,
        firstTokenMs: timeouts.firstTokenMs,
        totalMs: timeouts.totalMs,
      },
      connections: backend.connections,
      clock,
    });
  });
}
