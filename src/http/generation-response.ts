import type { Context } from "hono";
import { errorBody, toGatewayError } from "../api/error-body.js";
import { addUsage } from "../api/responses.js";
import { SSE_DONE, sseData } from "../api/sse.js";
import type { CacheOutcome } from "../cache/response-cache.js";
import { mergeIndexed } from "../core/merge.js";
import type { FinishReason, GatewayEvent, ServedBy, ServedDoneEvent, Usage } from "../core/types.js";
import type { AppEnv } from "./env.js";
import { respondWithStream } from "./node-io.js";

/**
 * Turns generations into HTTP responses, once for both endpoints: JSON after collecting every event, or an SSE
 * stream. The endpoint supplies only its chunk shapes (StreamFormat).
 */

export interface StreamFormat {
  /** Chunks sent before the first delta (chat: the assistant role chunk). */
  opening(): unknown[];
  delta(index: number, text: string): unknown;
  finish(index: number, reason: FinishReason): unknown;
  /** The final usage chunk, sent only when the client asked for it. */
  usage(usage: Usage): unknown;
}

export interface CollectedChoice {
  index: number;
  text: string;
  finishReason: FinishReason;
  done: ServedDoneEvent;
}

export interface Collected {
  choices: CollectedChoice[];
  usage: Usage;
  costUsd: number;
}

const ZERO_USAGE: Usage = { promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0 };

/** Runs the generations to completion and gathers text, finish reasons, usage and cost. */
export async function collect(generations: readonly AsyncIterable<GatewayEvent>[]): Promise<Collected> {
  const texts = generations.map(() => "");
  const dones: (ServedDoneEvent | undefined)[] = generations.map(() => undefined);
  for await (const { index, item } of mergeIndexed(generations)) {
    if (item.type === "token") texts[index] += item.text;
    else dones[index] = item;
  }
  const choices = dones.map((done, index) => {
    if (done === undefined) throw new Error(`generation ${index} ended without a done event`);
    return { index, text: texts[index] ?? "", finishReason: done.finishReason, done };
  });
  return {
    choices,
    usage: choices.reduce((u, c) => addUsage(u, c.done.usage), ZERO_USAGE),
    costUsd: choices.reduce((sum, c) => sum + c.done.costUsd, 0),
  };
}

/** Headers that tell the client which model and replica served it (off with server.exposeRoutingHeaders). */
export function routingHeaders(servedBy: ServedBy | undefined, expose: boolean): Record<string, string> {
  if (!expose || servedBy === undefined) return {};
  return {
    "x-tollgate-model": servedBy.model,
    "x-tollgate-deployment": servedBy.deployment,
    "x-tollgate-replica": servedBy.replicaId,
  };
}

/** Routing headers plus the cost of a collected (non-streamed) response. */
export function servedHeaders(collected: Collected, expose: boolean): Record<string, string> {
  const first = collected.choices[0]?.done;
  if (!expose || first === undefined) return {};
  return {
    ...routingHeaders(first.servedBy, expose),
    "x-tollgate-cost-usd": collected.costUsd.toPrecision(6),
  };
}

/**
 * `x-cache` (HIT, MISS or BYPASS) and, on hits, `age` (seconds since the answer was generated) and
 * `x-tollgate-cache-kind` (exact, semantic or coalesced). A response of several generations (a completions
 * request with several prompts) is a HIT only when every one was, and a BYPASS only when every one was.
 */
export function cacheHeaders(outcomes: readonly CacheOutcome[]): Record<string, string> {
  if (outcomes.length === 0) return {};
  if (outcomes.every((o) => o.status === "BYPASS")) return { "x-cache": "BYPASS" };
  if (!outcomes.every((o) => o.status === "HIT")) return { "x-cache": "MISS" };
  const kinds = new Set(outcomes.map((o) => o.kind));
  const headers: Record<string, string> = {
    "x-cache": "HIT",
    age: String(Math.max(...outcomes.map((o) => o.ageSeconds ?? 0))),
    "x-tollgate-cache-kind": kinds.size === 1 ? String([...kinds][0]) : "mixed",
  };
  const similarities = outcomes.flatMap((o) => (o.similarity === undefined ? [] : [o.similarity]));
  if (similarities.length > 0) headers["x-tollgate-cache-similarity"] = Math.min(...similarities).toFixed(3);
  return headers;
}

type Verdict = NonNullable<ServedDoneEvent["slo"]>;

/**
 * The SLO verdict for the final chunk of a stream, in a `tollgate` field OpenAI clients ignore:
 * `{"tollgate":{"slo_class":"standard","slo_met":true,"ttft_met":true,"tpot_met":true,"e2e_met":true}}`.
 */
export function sloField(verdicts: readonly Verdict[]): { tollgate?: Record<string, unknown> } {
  const first = verdicts[0];
  if (first === undefined) return {};
  return {
    tollgate: {
      slo_class: first.class,
      slo_met: verdicts.every((v) => v.met),
      ttft_met: verdicts.every((v) => v.ttft),
      tpot_met: verdicts.every((v) => v.tpot),
      e2e_met: verdicts.every((v) => v.e2e),
    },
  };
}

/** `x-tollgate-slo-met` of a collected (non-streamed) response: every generation met every target. */
export function sloHeaders(collected: Collected): Record<string, string> {
  const verdicts = collected.choices.flatMap((c) => (c.done.slo === undefined ? [] : [c.done.slo]));
  if (verdicts.length === 0) return {};
  return { "x-tollgate-slo-met": String(verdicts.every((v) => v.met)) };
}

/**
 * Streams the generations as SSE. The first event is awaited before the 200 and the headers go out, so a
 * failure before the first token is still an ordinary HTTP error; a failure after it becomes an `error` event
 * (what OpenAI sends) and the stream ends without `[DONE]`.
 */
export async function streamResponse(
  c: Context<AppEnv>,
  options: {
    generations: readonly AsyncIterable<GatewayEvent>[];
    format: StreamFormat;
    includeUsage: boolean;
    abort: AbortController;
    /** Called with the first event's `servedBy` before any chunk is built (to name the served model). */
    onServed: (servedBy: ServedBy | undefined) => void;
    exposeRoutingHeaders: boolean;
    /** More response headers (the cache's). */
    headers?: Record<string, string>;
  },
): Promise<Response> {
  const { format, includeUsage, abort } = options;
  const events = mergeIndexed(options.generations);
  const first = await events.next();
  const servedBy = first.done ? undefined : first.value.item.servedBy;
  options.onServed(servedBy);

  const headers = { ...routingHeaders(servedBy, options.exposeRoutingHeaders), ...options.headers };
  const total = options.generations.length;
  return respondWithStream(c, headers, async (out) => {
    let usage = ZERO_USAGE;
    let pending = "";
    const verdicts: Verdict[] = [];
    // The last finish chunk is held back so the final chunk of the stream can carry the SLO verdict.
    let lastFinish: unknown;
    let dones = 0;
    for (const chunk of format.opening()) pending += sseData(chunk);
    try {
      let next = first;
      while (!next.done) {
        const { index, item } = next.value;
        if (item.type === "token") {
          if (item.text !== "") pending += sseData(format.delta(index, item.text));
        } else {
          usage = addUsage(usage, item.usage);
          if (item.slo !== undefined) verdicts.push(item.slo);
          const finish = format.finish(index, item.finishReason);
          if (++dones === total) lastFinish = finish;
          else pending += sseData(finish);
        }
        if (pending !== "") {
          await out.write(pending);
          pending = "";
        }
        if (out.closed) {
          abort.abort(new Error("client disconnected"));
          return;
        }
        next = await events.next();
      }
      const verdict = sloField(verdicts);
      if (includeUsage) {
        if (lastFinish !== undefined) pending += sseData(lastFinish);
        pending += sseData({ ...(format.usage(usage) as object), ...verdict });
      } else if (lastFinish !== undefined) {
        pending += sseData({ ...(lastFinish as object), ...verdict });
      }
      await out.write(pending + SSE_DONE);
    } catch (error) {
      if (abort.signal.aborted) return;
      const gatewayError = toGatewayError(error, c.get("requestId"));
      c.get("logger").error({ err: error, requestId: c.get("requestId") }, "generation failed mid-stream");
      await out.write(pending + sseData(errorBody(gatewayError)));
    } finally {
      await events.return();
    }
  });
}
