import type { Clock } from "../core/clock.js";
import { GatewayError } from "../core/errors.js";
import type { Random } from "../core/random.js";
import type { GenerationRequest } from "../core/types.js";
import type { Metrics } from "../metrics/metrics.js";
import { type DispatchEvent, type DispatchProgress, dispatch } from "../routing/dispatch.js";
import type { ModelRoute } from "./model-table.js";

/** What every dispatch of the gateway shares. */
export interface RouteDispatchDeps {
  clock: Clock;
  metrics: Metrics;
  random: Random;
}

/**
 * Dispatches a request to one model's pool with that model's routing settings (retries, backoff, timeouts,
 * retry budget), counting routing decisions, retries and failed attempts. A shadow copy's failed attempts are
 * not counted as the model's generations: the tollgate_shadow_* metrics measure shadow traffic.
 */
export function dispatchToRoute(
  deps: RouteDispatchDeps,
  target: {
    route: ModelRoute;
    request: GenerationRequest;
    signal: AbortSignal;
    progress: DispatchProgress;
    shadow?: boolean;
  },
): AsyncGenerator<DispatchEvent> {
  const { clock, metrics, random } = deps;
  const { route, request, signal, progress, shadow = false } = target;
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
    random,
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
