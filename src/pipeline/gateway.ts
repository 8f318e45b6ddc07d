import type { ModelCard } from "../api/responses.js";
import { GatewayError } from "../core/errors.js";
import { SeededRandom } from "../core/random.js";
import type { GatewayEvent, GenerationRequest } from "../core/types.js";
import type { ReplicaGaugeSample } from "../metrics/metrics.js";
import { ResponseRecorder } from "../metrics/response-recorder.js";
import { type ServeDeps, serveWithFallbacks } from "./fallback-chain.js";
import type { GatewayDeps, PrepareInput, ServedModelInfo } from "./gateway-types.js";
import { ModelTable } from "./model-table.js";
import { prepareRequest } from "./prepare.js";
import { sampleReplicas } from "./replica-samples.js";
import { ShadowTraffic } from "./shadow.js";

export type { GatewayDeps, PrepareInput, SamplingInput, ServedModelInfo } from "./gateway-types.js";

/**
 * The serving pipeline's model side, without HTTP: resolve the model (aliases), validate against its context,
 * tokenize (prepare.ts); then serve through the model table's pools with canary, shadow and fallbacks
 * (fallback-chain.ts), accounting for every response (accounting-hook.ts). The stages before it (guard, cache,
 * admission, queue) are wired by compose.ts around it.
 */
export class Gateway {
  readonly #deps: GatewayDeps;
  readonly #table: ModelTable;
  readonly #shadows: ShadowTraffic;
  readonly #serve: ServeDeps;
  readonly #created: number;
  /** Clock time the replicas went into service (their uptime, for spend). */
  readonly #startedMs: number;

  constructor(deps: GatewayDeps) {
    this.#deps = deps;
    this.#created = Math.floor(deps.clock.epochMs() / 1000);
    this.#startedMs = deps.clock.now();
    // One seeded sequence for routing, canary and shadow draws, so a run is reproducible from deps.seed.
    const random = new SeededRandom(deps.seed ?? 1);
    const responses = new ResponseRecorder(deps.metrics);
    this.#table = new ModelTable({
      models: deps.models,
      backends: deps.backends,
      deploymentWeights: deps.deploymentWeights,
      clock: deps.clock,
      random,
    });
    this.#shadows = new ShadowTraffic({
      table: this.#table,
      clock: deps.clock,
      metrics: deps.metrics,
      random,
    });
    this.#serve = {
      table: this.#table,
      shadows: this.#shadows,
      responses,
      clock: deps.clock,
      metrics: deps.metrics,
      random,
    };
  }

  listModels(): ModelCard[] {
    return [...this.#table.routes()].map((r) => this.#card(r.info));
  }

  getModel(id: string): ModelCard | undefined {
    const route = this.#table.get(this.resolve(id));
    return route && this.#card(route.info);
  }

  /** True when every model has at least one ready replica. */
  isReady(): boolean {
    return this.#table.isReady();
  }

  /**
   * Resolves the model, tokenizes the prompt and checks it against the model's context.
   * Throws model_not_found (404) or context_length_exceeded (400).
   */
  async prepare(input: PrepareInput): Promise<GenerationRequest> {
    const route = this.#table.get(this.resolve(input.model));
    if (route === undefined) {
      throw new GatewayError("model_not_found", `The model '${input.model}' does not exist.`, {
        param: "model",
      });
    }
    return prepareRequest(input, route.info, this.#deps.tokenizer, this.#deps.clock.now());
  }

  /** The model id a client's name stands for (an alias resolves to its model; other names are returned as is). */
  resolve(name: string): string {
    return this.#table.resolve(name);
  }

  /**
   * The request's events from its model's pool (or a canary, or a fallback): see serveWithFallbacks. Returned
   * as is rather than delegated to, so each token crosses one generator, not two.
   */
  generate(original: GenerationRequest, signal: AbortSignal): AsyncGenerator<GatewayEvent> {
    return serveWithFallbacks(this.#serve, original, signal);
  }

  /**
   * The request re-aimed at another model (degradation by the scheduler), or undefined when that model is
   * unknown or the prompt does not fit it.
   */
  retargetTo(request: GenerationRequest, model: string): GenerationRequest | undefined {
    const route = this.#table.get(model);
    return route && this.#table.retarget(request, route);
  }

  /** Every replica's state for the scrape-time gauges. */
  replicaSamples(): ReplicaGaugeSample[] {
    const pools = [...this.#table.routes()].map((r) => r.pool);
    return sampleReplicas(pools, this.#deps.clock.now(), this.#startedMs);
  }

  async close(): Promise<void> {
    this.#table.stopHealthChecks();
    this.#shadows.abortAll(new Error("gateway closing"));
    await Promise.all(this.#deps.backends.map((b) => b.close()));
  }

  #card(info: ServedModelInfo): ModelCard {
    return { id: info.id, created: this.#created, ownedBy: info.ownedBy, contextLength: info.contextLength };
  }
}
