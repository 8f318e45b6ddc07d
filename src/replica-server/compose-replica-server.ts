import type { Backend } from "../backends/backend.js";
import { type Composed, type ComposeOptions, compose } from "../compose.js";
import { createVllmMetrics, type VllmMetrics } from "../metrics/vllm-metrics.js";
import { type GenerationObserver, observeGenerations } from "./observed-backend.js";

export interface ComposedReplicaServer extends Composed {
  vllm: VllmMetrics;
}

/**
 * One replica served as its own OpenAI-compatible server: the gateway's composition (same routes, same
 * /metrics) with the replica's generations observed from the engine's side and vLLM's metric names added to
 * the registry, so a Tollgate gateway (openai-http backend) or any vLLM dashboard can use it like a vLLM server.
 */
export function composeReplicaServer(options: Omit<ComposeOptions, "wrapBackend">): ComposedReplicaServer {
  const engines: Backend[] = [];
  // The registry exists once compose() returns; no generation can start before that.
  let vllm: VllmMetrics | undefined;
  const observer: GenerationObserver = {
    prefillDone: (model, tokens) => vllm?.prefillDone(model, tokens),
    tokens: (model, count, gap) => vllm?.tokens(model, count, gap),
    finished: (request) => vllm?.finished(request),
  };
  const { config } = options;
  const composed = compose({
    ...options,
    // A model server answers every request itself (vLLM has no response cache) and shares no state.
    config: {
      ...config,
      cache: { ...config.cache, enabled: false },
      store: { ...config.store, url: undefined },
      // Nor does it guard: its client is a gateway that already did.
      guard: { ...config.guard, enabled: false },
    },
    wrapBackend: (backend) => {
      engines.push(backend);
      return observeGenerations(backend, observer);
    },
  });
  const models = composed.gateway.listModels();
  vllm = createVllmMetrics({
    registry: composed.metrics.registry,
    maxModelLen: Math.max(1, ...models.map((m) => m.contextLength)),
    modelNames: models.map((m) => m.id),
    engines: () =>
      engines.map((engine) => {
        const stats = engine.stats?.();
        return {
          modelName: engine.replica.model,
          ...engine.snapshot(),
          ...(stats && { stats }),
        };
      }),
  });
  return { ...composed, vllm };
}
