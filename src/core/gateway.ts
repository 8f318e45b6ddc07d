import type { Logger } from "pino";
import { responseCostUsd } from "../accounting/cost.js";
import type { ModelCard } from "../api/responses.js";
import type { Backend } from "../backends/backend.js";
import type { Metrics, ReplicaGaugeSample } from "../metrics/metrics.js";
import { pickLeastOutstanding } from "../routing/least-outstanding.js";
import type { Clock } from "./clock.js";
import { GatewayError } from "./errors.js";
import { RateWindow } from "./rate-window.js";
import type { Tokenizer } from "./tokenizer.js";
import type { ChatMessage, DoneEvent, GenerationRequest, RequestKind, TokenEvent } from "./types.js";

/** What the gateway knows of a served model. */
export interface ServedModelInfo {
  id: string;
  ownedBy: string;
  contextLength: number;
}

export interface GatewayDeps {
  models: readonly ServedModelInfo[];
  backends: readonly Backend[];
  clock: Clock;
  tokenizer: Tokenizer;
  metrics: Metrics;
  logger: Logger;
}

/** Sampling parameters of one request, normalised by the API layer. */
export interface SamplingInput {
  maxTokens: number | undefined;
  temperature: number;
  topP: number;
  stop: readonly string[];
  seed: number | undefined;
}

export type PrepareInput = {
  requestId: string;
  model: string;
  sampling: SamplingInput;
  /** Clock time the request arrived; defaults to now. */
  arrivalMs?: number;
} & ({ kind: "chat"; messages: readonly ChatMessage[] } | { kind: "completion"; prompt: string });

/** The `done` event as the gateway reports it: the backend's, plus where it ran and what it cost. */
export interface ServedDoneEvent extends DoneEvent {
  deployment: string;
  costUsd: number;
}

export type GatewayEvent = TokenEvent | ServedDoneEvent;

interface ReplicaState {
  readonly backend: Backend;
  outstanding: number;
  readonly tokens: RateWindow;
}

interface ModelRoute {
  readonly info: ServedModelInfo;
  readonly replicas: ReplicaState[];
  cursor: number;
}

/**
 * The serving pipeline without HTTP: validate against the model, tokenize, route to a replica, account for
 * the generation. Later stages (guard, cache, admission, queue, batcher) slot in between prepare and dispatch.
 */
export class Gateway {
  readonly #deps: GatewayDeps;
  readonly #routes = new Map<string, ModelRoute>();
  readonly #created: number;

  constructor(deps: GatewayDeps) {
    this.#deps = deps;
    this.#created = Math.floor(deps.clock.epochMs() / 1000);
    for (const model of deps.models) {
      const backends = deps.backends.filter((b) => b.replica.model === model.id);
      // A model is served with the smallest window any of its replicas can hold.
      const windows = backends.map((b) => b.replica.maxContextTokens ?? Number.POSITIVE_INFINITY);
      const contextLength = Math.min(model.contextLength, ...windows);
      const replicas = backends.map((backend) => ({
        backend,
        outstanding: 0,
        tokens: new RateWindow({ clock: deps.clock }),
      }));
      this.#routes.set(model.id, { info: { ...model, contextLength }, replicas, cursor: 0 });
    }
    for (const backend of deps.backends) {
      if (!this.#routes.has(backend.replica.model)) {
        throw new Error(`replica ${backend.replica.id} serves unknown model ${backend.replica.model}`);
      }
    }
  }

  listModels(): ModelCard[] {
    return [...this.#routes.values()].map((r) => this.#card(r.info));
  }

  getModel(id: string): ModelCard | undefined {
    const route = this.#routes.get(id);
    return route && this.#card(route.info);
  }

  /** True when every model has at least one ready replica. */
  isReady(): boolean {
    for (const route of this.#routes.values()) {
      if (!route.replicas.some((r) => r.backend.snapshot().ready)) return false;
    }
    return true;
  }

  /**
   * Resolves the model, tokenizes the prompt and checks it against the model's context.
   * Throws model_not_found (404) or context_length_exceeded (400).
   */
  prepare(input: PrepareInput): GenerationRequest {
    const route = this.#routes.get(input.model);
    if (route === undefined) {
      throw new GatewayError("model_not_found", `The model '${input.model}' does not exist.`, {
        param: "model",
      });
    }
    const { text, tokens } =
      input.kind === "chat"
        ? this.#deps.tokenizer.encodeChat(input.messages)
        : { text: input.prompt, tokens: this.#deps.tokenizer.encode(input.prompt) };
    const context = route.info.contextLength;
    const requested = input.sampling.maxTokens;
    const param = input.kind === "chat" ? "messages" : "prompt";
    if (tokens.length + (requested ?? 1) > context) {
      const completion = requested === undefined ? "" : `, ${requested} in the completion`;
      throw new GatewayError(
        "context_length_exceeded",
        `This model's maximum context length is ${context} tokens. However, you requested ${tokens.length + (requested ?? 0)} tokens (${tokens.length} in the ${param}${completion}). Please reduce the length of the ${param} or completion.`,
        { param: requested === undefined ? param : "max_tokens" },
      );
    }
    const base = {
      id: input.requestId,
      model: route.info.id,
      kind: input.kind as RequestKind,
      promptText: text,
      promptTokens: tokens,
      // Like vLLM: without max_tokens a completion may use the rest of the context.
      maxTokens: requested ?? context - tokens.length,
      stop: input.sampling.stop,
      temperature: input.sampling.temperature,
      topP: input.sampling.topP,
      arrivalMs: input.arrivalMs ?? this.#deps.clock.now(),
    };
    const request: GenerationRequest = input.kind === "chat" ? { ...base, messages: input.messages } : base;
    if (input.sampling.seed !== undefined) request.seed = input.sampling.seed;
    return request;
  }

  /**
   * Routes the request to a replica and yields its events; the `done` event carries deployment and cost.
   * Records token, latency and cost metrics when the generation finishes.
   */
  async *generate(request: GenerationRequest, signal: AbortSignal): AsyncGenerator<GatewayEvent> {
    const route = this.#routes.get(request.model);
    if (route === undefined) {
      throw new GatewayError("model_not_found", `The model '${request.model}' does not exist.`, {
        param: "model",
      });
    }
    const replica = this.#pick(route);
    const { backend } = replica;
    const labels = { model: route.info.id, deployment: backend.replica.deployment };
    const metrics = this.#deps.metrics;
    let firstTokenMs: number | undefined;
    replica.outstanding++;
    metrics.generationsInFlight.inc({ model: route.info.id });
    try {
      for await (const event of backend.generate(request, signal)) {
        if (event.type === "token") {
          firstTokenMs ??= event.atMs;
          replica.tokens.add(event.tokens);
          yield event;
          continue;
        }
        const costUsd = responseCostUsd(event.gpuSeconds, backend.replica.pricePerGpuHourUsd);
        this.#record(labels, request, event, costUsd, firstTokenMs ?? event.timings.firstTokenMs);
        yield { ...event, deployment: backend.replica.deployment, costUsd };
      }
    } catch (error) {
      if (!signal.aborted) {
        const outcome = error instanceof GatewayError ? error.code : "internal_error";
        metrics.generations.inc({ ...labels, outcome });
      }
      throw error;
    } finally {
      replica.outstanding--;
      metrics.generationsInFlight.dec({ model: route.info.id });
    }
  }

  replicaSamples(): ReplicaGaugeSample[] {
    const samples: ReplicaGaugeSample[] = [];
    for (const route of this.#routes.values()) {
      for (const { backend, tokens } of route.replicas) {
        const snap = backend.snapshot();
        const stats = backend.stats?.();
        samples.push({
          replica: backend.replica.id,
          deployment: backend.replica.deployment,
          model: backend.replica.model,
          ...snap,
          generationTokensPerSecond: tokens.perSecond(),
          ...(stats && {
            engine: {
              preemptions: stats.preemptions,
              prefixCacheQueries: stats.prefixCacheQueries,
              prefixCacheHits: stats.prefixCacheHits,
              busySeconds: stats.busyMs / 1000,
            },
          }),
        });
      }
    }
    return samples;
  }

  async close(): Promise<void> {
    await Promise.all(this.#deps.backends.map((b) => b.close()));
  }

  #pick(route: ModelRoute): ReplicaState {
    const loads = route.replicas.map((r) => ({
      ready: r.backend.snapshot().ready,
      outstanding: r.outstanding,
    }));
    const index = pickLeastOutstanding(loads, route.cursor);
    route.cursor = (route.cursor + 1) % Math.max(1, route.replicas.length);
    const replica = route.replicas[index];
    if (replica === undefined) {
      throw new GatewayError("replica_unavailable", `No replica of model '${route.info.id}' is available.`, {
        retryAfterSeconds: 1,
      });
    }
    return replica;
  }

  #record(
    labels: { model: string; deployment: string },
    request: GenerationRequest,
    done: DoneEvent,
    costUsd: number,
    firstTokenMs: number,
  ): void {
    const m = this.#deps.metrics;
    const { usage, timings } = done;
    const ttft = (firstTokenMs - request.arrivalMs) / 1000;
    const e2e = (timings.endMs - request.arrivalMs) / 1000;
    m.generations.inc({ ...labels, outcome: done.finishReason });
    m.promptTokens.inc(labels, usage.promptTokens);
    m.generationTokens.inc(labels, usage.completionTokens);
    if (usage.completionTokens > 0) m.ttft.observe(labels, ttft);
    if (usage.completionTokens > 1) m.tpot.observe(labels, (e2e - ttft) / (usage.completionTokens - 1));
    m.e2e.observe(labels, e2e);
    m.engineQueueTime.observe(labels, Math.max(0, timings.scheduledMs - timings.arrivalMs) / 1000);
    m.responseCost.observe(labels, costUsd);
    m.costTotal.inc(labels, costUsd);
    m.gpuSeconds.inc(labels, done.gpuSeconds);
  }

  #card(info: ServedModelInfo): ModelCard {
    return { id: info.id, created: this.#created, ownedBy: info.ownedBy, contextLength: info.contextLength };
  }
}
