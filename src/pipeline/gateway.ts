import { responseCostUsd, responseRevenueUsd } from "../accounting/cost.js";
import type { ModelCard } from "../api/responses.js";
import type { ReplicaGaugeSample } from "../metrics/metrics.js";
import { ResponseRecorder } from "../metrics/response-recorder.js";
import { type DispatchEvent, type DispatchProgress, dispatch } from "../routing/dispatch.js";
import { startHealthChecks } from "../routing/health-check.js";
import { createPolicy } from "../routing/policies/index.js";
import { ReplicaPool } from "../routing/pool.js";
import { RetryBudget } from "../routing/retry-budget.js";
import { isRetryable } from "../routing/retry-policy.js";
import { GatewayError } from "../core/errors.js";
import type { GatewayDeps, GatewayEvent, PrepareInput, ServedModelInfo } from "./gateway-types.js";
import { prepareRequest } from "./prepare.js";
import { SeededRandom } from "../core/random.js";
import { sampleReplicas } from "./replica-samples.js";
import { consumeShadow } from "./shadow.js";
import type { GenerationRequest } from "../core/types.js";

export type {
  GatewayDeps,
  GatewayEvent,
  PrepareInput,
  SamplingInput,
  ServedDoneEvent,
  ServedModelInfo,
} from "./gateway-types.js";

interface ModelRoute {
  readonly info: ServedModelInfo;
  readonly pool: ReplicaPool;
  readonly budget: RetryBudget;
}

/**
 * The serving pipeline without HTTP: resolve the model (aliases), validate against its context, tokenize,
 * dispatch to its pool (policy, retries, breakers, timeouts), fall back to other models when the pool cannot
 * serve, and account for the generation. Later stages (guard, cache, admission, queue, batcher) slot in between
 * prepare and dispatch.
 */
export class Gateway {
  readonly #deps: GatewayDeps;
  readonly #routes = new Map<string, ModelRoute>();
  readonly #aliases = new Map<string, string>();
  readonly #created: number;
  /** Clock time the replicas went into service (their uptime, for spend). */
  readonly #startedMs: number;
  readonly #random: SeededRandom;
  readonly #stopHealthChecks: Array<() => void> = [];
  readonly #responses: ResponseRecorder;
  /** Shadow requests in flight (aborted on close). */
  readonly #shadows = new Set<AbortController>();

  constructor(deps: GatewayDeps) {
    this.#deps = deps;
    this.#created = Math.floor(deps.clock.epochMs() / 1000);
    this.#startedMs = deps.clock.now();
    this.#random = new SeededRandom(deps.seed ?? 1);
    this.#responses = new ResponseRecorder(deps.metrics);
    for (const model of deps.models) {
      const backends = deps.backends.filter((b) => b.replica.model === model.id);
      // A model is served with the smallest window any of its replicas can hold.
      const windows = backends.map((b) => b.replica.maxContextTokens ?? Number.POSITIVE_INFINITY);
      const contextLength = Math.min(model.contextLength, ...windows);
      const { routing } = model;
      const pool = new ReplicaPool({
        model: model.id,
        policyName: routing.policy,
        policy: createPolicy(routing.policy),
        members: backends.map((backend) => ({
          backend,
          weight: deps.deploymentWeights?.[backend.replica.deployment] ?? 1,
        })),
        breaker: routing.breaker,
        healthCheck: routing.healthCheck,
        clock: deps.clock,
        random: this.#random,
      });
      const budget = new RetryBudget({
        ratio: routing.retries.budgetRatio,
        minPerSecond: routing.retries.budgetMinPerSecond,
        windowMs: routing.retries.budgetWindowMs,
      });
      this.#routes.set(model.id, { info: { ...model, contextLength }, pool, budget });
      this.#stopHealthChecks.push(
        startHealthChecks({
          targets: pool.members.map((m) => ({ backend: m.backend, health: m.health })),
          clock: deps.clock,
          settings: routing.healthCheck,
        }),
      );
      for (const alias of model.aliases ?? []) this.#aliases.set(alias, model.id);
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
    const route = this.#routes.get(this.resolve(id));
    return route && this.#card(route.info);
  }

  /** True when every model has at least one ready replica. */
  isReady(): boolean {
    for (const route of this.#routes.values()) {
      if (!route.pool.hasAvailable()) return false;
    }
    return true;
  }

  /**
   * Resolves the model, tokenizes the prompt and checks it against the model's context.
   * Throws model_not_found (404) or context_length_exceeded (400).
   */
  async prepare(input: PrepareInput): Promise<GenerationRequest> {
    const route = this.#routes.get(this.resolve(input.model));
    if (route === undefined) {
      throw new GatewayError("model_not_found", `The model '${input.model}' does not exist.`, {
        param: "model",
      });
    }
    return prepareRequest(input, route.info, this.#deps.tokenizer, this.#deps.clock.now());
  }

  /** The model id a client's name stands for (an alias resolves to its model; other names are returned as is). */
  resolve(name: string): string {
    return this.#aliases.get(name) ?? name;
  }

  /**
   * Dispatches the request to its model's pool and yields the events; the first token and the `done` event say
   * which model and replica served. When the pool cannot serve (every attempt failed before a token, or nothing
   * is available), the model's fallbacks are tried in order. Records token, latency and cost metrics.
   */
  async *generate(original: GenerationRequest, signal: AbortSignal): AsyncGenerator<GatewayEvent> {
    const requested = this.#routes.get(original.model);
    if (requested === undefined) {
      throw new GatewayError("model_not_found", `The model '${original.model}' does not exist.`, {
        param: "model",
      });
    }
    const metrics = this.#deps.metrics;
    this.#maybeShadow(requested, original);
    const { route: primary, request } = this.#canary(requested, original);
    const chain = [primary, ...(primary.info.fallbacks ?? []).flatMap((id) => this.#routes.get(id) ?? [])];
    const progress: DispatchProgress = { started: false, attempts: 0 };
    let lastError: unknown;
    metrics.generationsInFlight.inc({ model: primary.info.id });
    try {
      for (const [k, route] of chain.entries()) {
        const attempt = k === 0 ? request : this.#retarget(request, route);
        if (attempt === undefined) continue;
        if (k > 0) metrics.fallbacks.inc({ model: primary.info.id, fallback: route.info.id });
        // Inline rather than a nested generator: every token of every response passes through this loop.
        let firstTokenMs: number | undefined;
        try {
          for await (const event of this.#dispatchEvents(route, attempt, signal, progress)) {
            if (event.type === "token") {
              firstTokenMs ??= event.atMs;
              yield event;
              continue;
            }
            const replica = this.#replica(event.servedBy.replicaId, route);
            const costUsd = responseCostUsd(event.gpuSeconds, replica?.pricePerGpuHourUsd ?? 0);
            const labels = {
              model: route.info.id,
              deployment: event.servedBy.deployment,
              tier: attempt.tier ?? "none",
            };
            this.#responses.record(labels, {
              arrivalMs: attempt.arrivalMs,
              firstTokenMs: firstTokenMs ?? event.timings.firstTokenMs,
              done: event,
              costUsd,
              revenueUsd: responseRevenueUsd(event.usage, route.info.pricing),
            });
            yield { ...event, deployment: event.servedBy.deployment, costUsd };
          }
          return;
        } catch (error) {
          if (progress.started || signal.aborted || !isRetryable(error)) {
            // Failures after the first token are final; count them for the model that was serving.
            if (progress.started && !signal.aborted) {
              const outcome = error instanceof GatewayError ? error.code : "internal_error";
              metrics.generations.inc({ model: route.info.id, deployment: "", outcome });
            }
            throw error;
          }
          lastError = error;
        }
      }
      throw lastError instanceof GatewayError
        ? lastError
        : new GatewayError("replica_unavailable", `No replica of model '${request.model}' is available.`, {
            retryAfterSeconds: 1,
          });
    } finally {
      metrics.generationsInFlight.dec({ model: primary.info.id });
    }
  }

  #dispatchEvents(
    route: ModelRoute,
    request: GenerationRequest,
    signal: AbortSignal,
    progress: DispatchProgress,
    shadow = false,
  ): AsyncGenerator<DispatchEvent> {
    const { clock, metrics } = this.#deps;
    const { routing } = route.info;
    return dispatch({
      pool: route.pool,
      request,
      route: { promptTokens: request.promptTokens, maxTokens: request.maxTokens },
      signal,
      settings: {
        maxAttempts: routing.retries.maxAttempts,
        backoffBaseMs: routing.retries.backoffBaseMs,
        backoffMaxMs: routing.retries.backoffMaxMs,
        firstTokenMs: routing.timeouts.firstTokenMs,
        totalMs: routing.timeouts.totalMs,
      },
      budget: route.budget,
      clock,
      random: this.#random,
      progress,
      hooks: {
        onPick: (member) =>
          metrics.routingDecisions.inc({
            model: route.info.id,
            policy: route.pool.policyName,
            deployment: member.backend.replica.deployment,
          }),
        onRetry: (model) => metrics.retries.inc({ model }),
        onRetryRefused: (model) => metrics.retriesRefused.inc({ model }),
        onAttemptFailed: (member, error) => {
          // Shadow copies are measured by the tollgate_shadow_* metrics, not as the model's generations.
          if (shadow) return;
          metrics.generations.inc({
            model: route.info.id,
            deployment: member.backend.replica.deployment,
            outcome: error instanceof GatewayError ? error.code : "internal_error",
          });
        },
      },
    });
  }

  /** Picks the canary version for a share of requests (seeded draw); the rest stay on the requested model. */
  #canary(route: ModelRoute, request: GenerationRequest): { route: ModelRoute; request: GenerationRequest } {
    const targets = route.info.canary ?? [];
    if (targets.length === 0) return { route, request };
    let draw = this.#random.next();
    for (const target of targets) {
      draw -= target.share;
      if (draw >= 0) continue;
      const canary = this.#routes.get(target.model);
      const retargeted = canary && this.#retarget(request, canary);
      if (canary === undefined || retargeted === undefined) break;
      this.#deps.metrics.canaryRequests.inc({ model: route.info.id, canary: canary.info.id });
      return { route: canary, request: retargeted };
    }
    return { route, request };
  }

  /**
   * Sends a copy of a share of requests to the shadow model, in the background: its answer is discarded, its
   * outcome, latency and cost are measured. It never delays or fails the client's request.
   */
  #maybeShadow(route: ModelRoute, request: GenerationRequest): void {
    const shadow = route.info.shadow;
    if (shadow === undefined || this.#random.next() >= shadow.share) return;
    const target = this.#routes.get(shadow.model);
    const copy = target && this.#retarget({ ...request, id: `${request.id}-shadow` }, target);
    if (target === undefined || copy === undefined) return;
    const controller = new AbortController();
    this.#shadows.add(controller);
    consumeShadow({
      events: this.#dispatchEvents(target, copy, controller.signal, { started: false, attempts: 0 }, true),
      labels: { model: route.info.id, shadow: target.info.id },
      clock: this.#deps.clock,
      metrics: this.#deps.metrics,
      priceOf: (replicaId) => this.#replica(replicaId, target)?.pricePerGpuHourUsd ?? 0,
      onSettled: () => this.#shadows.delete(controller),
    });
  }

  /**
   * The request re-aimed at another model (degradation by the scheduler), or undefined when that model is
   * unknown or the prompt does not fit it.
   */
  retargetTo(request: GenerationRequest, model: string): GenerationRequest | undefined {
    const route = this.#routes.get(model);
    return route && this.#retarget(request, route);
  }

  /** The request re-aimed at a fallback model, or undefined when its prompt does not fit that model. */
  #retarget(request: GenerationRequest, route: ModelRoute): GenerationRequest | undefined {
    const context = route.info.contextLength;
    if (request.promptTokens.length + 1 > context) return undefined;
    return {
      ...request,
      model: route.info.id,
      maxTokens: Math.min(request.maxTokens, context - request.promptTokens.length),
    };
  }

  #replica(replicaId: string, route: ModelRoute) {
    return route.pool.members.find((m) => m.backend.replica.id === replicaId)?.backend.replica;
  }

  /** Every replica's state for the scrape-time gauges. */
  replicaSamples(): ReplicaGaugeSample[] {
    const pools = [...this.#routes.values()].map((r) => r.pool);
    return sampleReplicas(pools, this.#deps.clock.now(), this.#startedMs);
  }

  async close(): Promise<void> {
    for (const stop of this.#stopHealthChecks) stop();
    for (const shadow of this.#shadows) shadow.abort(new Error("gateway closing"));
    await Promise.all(this.#deps.backends.map((b) => b.close()));
  }

  #card(info: ServedModelInfo): ModelCard {
    return { id: info.id, created: this.#created, ownedBy: info.ownedBy, contextLength: info.contextLength };
  }
}
