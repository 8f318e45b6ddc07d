import type { Context } from "hono";
import type { ServedDoneEvent } from "../core/types.js";
import type { Pipeline } from "../pipeline/pipeline.js";
import type { SloClass } from "../scheduling/slo.js";
import type { AppEnv } from "./env.js";
import { requestHeader } from "./node-io.js";

/**
 * The per-request facts the completion routes share: the SLO class (the client's own, from its API key's
 * tenant, lowered by x-tollgate-slo-class) and the tenant for fair shares; set as the response's class header.
 */
export function classify(
  c: Context<AppEnv>,
  pipeline: Pipeline,
): { slo: SloClass; tenant?: string; tier?: string } {
  const identity = c.get("admission")?.identity;
  const slo = pipeline.sloClass(requestHeader(c, "x-tollgate-slo-class"), identity?.sloClass);
  c.header("x-tollgate-slo-class", slo.name);
  if (identity === undefined) return { slo };
  // Anonymous clients share fairly by address; keyed ones by tenant.
  return { slo, tenant: identity.kind === "key" ? identity.tenant : identity.subject, tier: identity.tier };
}

/**
 * Once the body has been read and validated: takes the client's concurrency slot, then the prompt's tokens
 * from its token limits (429 when either is short); a no-op without the guard.
 */
export async function admitPrompt(c: Context<AppEnv>, promptTokens: number): Promise<void> {
  const admission = c.get("admission");
  if (admission === undefined) return;
  await admission.acquireSlot();
  await admission.admitTokens(promptTokens);
  for (const [name, value] of Object.entries(admission.headers)) c.header(name, value);
}

/**
 * Called with each finished generation: charges its completion tokens to the client's token limits and adds
 * it to the request's summary for the log line.
 */
export function onGenerationDone(
  c: Context<AppEnv>,
  slo: SloClass,
  tier: string | undefined,
): (done: ServedDoneEvent) => void {
  const admission = c.get("admission");
  return (done) => {
    admission?.charge(done.usage.completionTokens);
    const previous = c.get("served");
    c.set("served", {
      sloClass: slo.name,
      tier: tier ?? "none",
      deployment: previous?.deployment ?? done.deployment,
      finishReason: done.finishReason,
      promptTokens: (previous?.promptTokens ?? 0) + done.usage.promptTokens,
      completionTokens: (previous?.completionTokens ?? 0) + done.usage.completionTokens,
      costUsd: (previous?.costUsd ?? 0) + done.costUsd,
      sloMet: (previous?.sloMet ?? true) && (done.slo?.met ?? true),
      cache: done.cache?.kind ?? "miss",
    });
  };
}
