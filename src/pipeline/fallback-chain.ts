import type { Clock } from "../core/clock.js";
import { GatewayError } from "../core/errors.js";
import type { Random } from "../core/random.js";
import type { GatewayEvent, GenerationRequest } from "../core/types.js";
import type { Metrics } from "../metrics/metrics.js";
import type { ResponseRecorder } from "../metrics/response-recorder.js";
import type { DispatchProgress } from "../routing/dispatch.js";
import { isRetryable } from "../routing/retry-policy.js";
import { accountDone } from "./accounting-hook.js";
import { pickCanary } from "./canary.js";
import type { ModelTable } from "./model-table.js";
import { dispatchToRoute } from "./route-dispatch.js";
import type { ShadowTraffic } from "./shadow.js";

export interface ServeDeps {
  table: ModelTable;
  shadows: ShadowTraffic;
  responses: ResponseRecorder;
  clock: Clock;
  metrics: Metrics;
  random: Random;
}

/**
 * Serves one prepared request: a shadow copy for its share, the canary version for its share, then its model's
 * pool; when the pool cannot serve (every attempt failed before a token, or nothing is available), the model's
 * fallbacks in order, each retargeted to its own context (skipped when the prompt does not fit). The first token
 * and the `done` event say which model and replica served; `done` is accounted (cost, tokens, latencies).
 * Nothing runs until the first next(): the shadow and canary draws happen in iteration order.
 */
export async function* serveWithFallbacks(
  deps: ServeDeps,
  original: GenerationRequest,
  signal: AbortSignal,
): AsyncGenerator<GatewayEvent> {
  const { table, metrics } = deps;
  const requested = table.get(original.model);
  if (requested === undefined) {
    throw new GatewayError("model_not_found", `The model '${original.model}' does not exist.`, {
      param: "model",
    });
  }
  deps.shadows.maybeSend(requested, original);
  const { route: primary, request } = pickCanary(deps, requested, original);
  const chain = [primary, ...(primary.info.fallbacks ?? []).flatMap((id) => table.get(id) ?? [])];
  const progress: DispatchProgress = { started: false, attempts: 0 };
  let lastError: unknown;
  metrics.generationsInFlight.inc({ model: primary.info.id });
  try {
    for (const [k, route] of chain.entries()) {
      const attempt = k === 0 ? request : table.retarget(request, route);
      if (attempt === undefined) continue;
      if (k > 0) metrics.fallbacks.inc({ model: primary.info.id, fallback: route.info.id });
      // Inline rather than a nested generator: every token of every response passes through this loop.
      let firstTokenMs: number | undefined;
      try {
        for await (const event of dispatchToRoute(deps, { route, request: attempt, signal, progress })) {
          if (event.type === "token") {
            firstTokenMs ??= event.atMs;
            yield event;
            continue;
          }
          yield accountDone(deps, { route, request: attempt, event, firstTokenMs });
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
