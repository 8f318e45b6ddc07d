import type { Backend } from "../backends/backend.js";
import type { Clock } from "../core/clock.js";
import type { Random } from "../core/random.js";
import type { GenerationRequest } from "../core/types.js";
import { startHealthChecks } from "../routing/health-check.js";
import { createPolicy } from "../routing/policies/index.js";
import { ReplicaPool } from "../routing/pool.js";
import { RetryBudget } from "../routing/retry-budget.js";
import type { ServedModelInfo } from "./gateway-types.js";

/** One served model: what it is, the pool of replicas that serve it, and its retry budget. */
export interface ModelRoute {
  readonly info: ServedModelInfo;
  readonly pool: ReplicaPool;
  readonly budget: RetryBudget;
}

/**
 * The served models by id and alias, each with its replica pool (policy, breakers, health checks) and retry
 * budget. A model is served with the smallest context window any of its replicas can hold. Health checks start
 * here and stop on close().
 */
export class ModelTable {
  readonly #routes = new Map<string, ModelRoute>();
  readonly #aliases = new Map<string, string>();
  readonly #stopHealthChecks: Array<() => void> = [];

  constructor(deps: {
    models: readonly ServedModelInfo[];
    backends: readonly Backend[];
    deploymentWeights?: Readonly<Record<string, number>> | undefined;
    clock: Clock;
    /** Shared with the rest of the gateway: one seeded sequence of draws. */
    random: Random;
  }) {
    for (const model of deps.models) {
      const backends = deps.backends.filter((b) => b.replica.model === model.id);
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
        random: deps.random,
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

  /** The model id a client's name stands for (an alias resolves to its model; other names are returned as is). */
  resolve(name: string): string {
    return this.#aliases.get(name) ?? name;
  }

  /** The route of a model id (not an alias). */
  get(id: string): ModelRoute | undefined {
    return this.#routes.get(id);
  }

  routes(): IterableIterator<ModelRoute> {
    return this.#routes.values();
  }

  /** The request re-aimed at another model, or undefined when its prompt does not fit that model's context. */
  retarget(request: GenerationRequest, route: ModelRoute): GenerationRequest | undefined {
    const context = route.info.contextLength;
    if (request.promptTokens.length + 1 > context) return undefined;
    return {
      ...request,
      model: route.info.id,
      maxTokens: Math.min(request.maxTokens, context - request.promptTokens.length),
    };
  }

  /** The replica of `route` with this id (its price, for cost). */
  replica(replicaId: string, route: ModelRoute) {
    return route.pool.members.find((m) => m.backend.replica.id === replicaId)?.backend.replica;
  }

  /** True when every model has at least one ready replica. */
  isReady(): boolean {
    for (const route of this.#routes.values()) {
      if (!route.pool.hasAvailable()) return false;
    }
    return true;
  }

  stopHealthChecks(): void {
    for (const stop of this.#stopHealthChecks) stop();
  }
}
