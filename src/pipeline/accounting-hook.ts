import { responseCostUsd, responseRevenueUsd } from "../accounting/cost.js";
import type { GenerationRequest, ServedDoneEvent } from "../core/types.js";
import type { ResponseRecorder } from "../metrics/response-recorder.js";
import type { DispatchEvent } from "../routing/dispatch.js";
import type { ModelRoute, ModelTable } from "./model-table.js";

type DispatchDone = Extract<DispatchEvent, { type: "done" }>;

/**
 * The accounting hook on a generation's `done` event: prices its GPU-seconds at the serving replica's rate,
 * records the response's tokens, latencies, cost and revenue (per model, deployment and tier), and returns
 * the event as the gateway reports it (with its deployment and cost).
 */
export function accountDone(
  deps: { table: ModelTable; responses: ResponseRecorder },
  served: {
    route: ModelRoute;
    request: GenerationRequest;
    event: DispatchDone;
    /** When the first token came (undefined: none did; the engine's own timing stands in). */
    firstTokenMs: number | undefined;
  },
): ServedDoneEvent {
  const { route, request, event } = served;
  const replica = deps.table.replica(event.servedBy.replicaId, route);
  const costUsd = responseCostUsd(event.gpuSeconds, replica?.pricePerGpuHourUsd ?? 0);
  const labels = {
    model: route.info.id,
    deployment: event.servedBy.deployment,
    tier: request.tier ?? "none",
  };
  deps.responses.record(labels, {
    arrivalMs: request.arrivalMs,
    firstTokenMs: served.firstTokenMs ?? event.timings.firstTokenMs,
    done: event,
    costUsd,
    revenueUsd: responseRevenueUsd(event.usage, route.info.pricing),
  });
  return { ...event, deployment: event.servedBy.deployment, costUsd };
}
