import type { Random } from "../core/random.js";
import type { GenerationRequest } from "../core/types.js";
import type { Metrics } from "../metrics/metrics.js";
import type { ModelRoute, ModelTable } from "./model-table.js";

/**
 * Picks the canary version for a share of requests (one seeded draw per request of a model that has canaries);
 * the rest stay on the requested model. A canary whose context cannot hold the prompt is skipped, and the
 * request stays where it was.
 */
export function pickCanary(
  deps: { table: ModelTable; random: Random; metrics: Metrics },
  route: ModelRoute,
  request: GenerationRequest,
): { route: ModelRoute; request: GenerationRequest } {
  const targets = route.info.canary ?? [];
  if (targets.length === 0) return { route, request };
  let draw = deps.random.next();
  for (const target of targets) {
    draw -= target.share;
    if (draw >= 0) continue;
    const canary = deps.table.get(target.model);
    const retargeted = canary && deps.table.retarget(request, canary);
    if (canary === undefined || retargeted === undefined) break;
    deps.metrics.canaryRequests.inc({ model: route.info.id, canary: canary.info.id });
    return { route: canary, request: retargeted };
  }
  return { route, request };
}
