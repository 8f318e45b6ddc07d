import { type Clock, sleep } from "../core/clock.js";
import type { GatewayEvent, ServedDoneEvent, Usage } from "../core/types.js";
import { type CachedGeneration, eventTokens } from "./entry.js";

/** Recording a generation for the cache, and playing it back. */

/**
 * Replays a stored answer: the same text deltas in order (paced by their recorded gaps when `paced`; the time to
 * the first token is not replayed), then a `done` with the original usage, zero GPU-seconds and zero cost.
 */
export async function* replayEntry(
  entry: CachedGeneration,
  options: {
    clock: Clock;
    signal: AbortSignal;
    paced: boolean;
    arrivalMs: number;
    /** Replaces the stored prompt-token count (a semantic hit answers another prompt). */
    promptTokens?: number;
    cache: NonNullable<ServedDoneEvent["cache"]>;
    onFinished: (usage: Usage, firstTokenMs: number, endMs: number) => void;
  },
): AsyncGenerator<GatewayEvent> {
  const { clock, signal } = options;
  const servedBy = { model: entry.model, deployment: entry.deployment, replicaId: entry.replicaId };
  const startMs = clock.now();
  let firstTokenMs: number | undefined;
  for (let i = 0; i < entry.texts.length; i++) {
    if (options.paced) {
      const dueMs = startMs + (entry.offsetsMs[i] ?? 0);
      if (dueMs > clock.now()) await sleep(clock, dueMs - clock.now(), signal);
    }
    const atMs = clock.now();
    firstTokenMs ??= atMs;
    const text = entry.texts[i]!;
    const tokens = eventTokens(entry, i);
    yield i === 0 ? { type: "token", text, tokens, atMs, servedBy } : { type: "token", text, tokens, atMs };
  }
  const endMs = clock.now();
  const usage =
    options.promptTokens === undefined
      ? entry.usage
      : { ...entry.usage, promptTokens: options.promptTokens, cachedPromptTokens: 0 };
  options.onFinished(usage, firstTokenMs ?? endMs, endMs);
  yield {
    type: "done",
    finishReason: entry.finishReason,
    usage,
    timings: {
      arrivalMs: options.arrivalMs,
      scheduledMs: startMs,
      firstTokenMs: firstTokenMs ?? endMs,
      endMs,
      preemptions: 0,
    },
    gpuSeconds: 0,
    replicaId: entry.replicaId,
    servedBy,
    deployment: entry.deployment,
    costUsd: 0,
    cache: options.cache,
  };
}

/** The done event as a follower of a shared generation sees it: its own timings, no GPU cost of its own. */
export function followerDone(
  done: ServedDoneEvent,
  times: { arrivalMs: number; firstTokenMs: number; endMs: number },
): ServedDoneEvent {
  return {
    ...done,
    timings: { ...done.timings, ...times },
    gpuSeconds: 0,
    costUsd: 0,
    cache: { kind: "coalesced", ageSeconds: 0 },
  };
}

/** The stored form of a finished generation. */
export function toEntry(
  events: readonly GatewayEvent[],
  done: ServedDoneEvent,
  arrivalMs: number,
  nowEpochMs: number,
): CachedGeneration {
  const texts: string[] = [];
  const tokens: number[] = [];
  const offsetsMs: number[] = [];
  let firstMs: number | undefined;
  let uniform = true;
  for (const event of events) {
    if (event.type !== "token") continue;
    firstMs ??= event.atMs;
    texts.push(event.text);
    tokens.push(event.tokens);
    if (event.tokens !== 1) uniform = false;
    offsetsMs.push(Math.max(0, Math.round(event.atMs - firstMs)));
  }
  const entry: CachedGeneration = {
    v: 1,
    createdEpochMs: nowEpochMs,
    model: done.servedBy.model,
    deployment: done.servedBy.deployment,
    replicaId: done.servedBy.replicaId,
    finishReason: done.finishReason,
    usage: done.usage,
    gpuSeconds: done.gpuSeconds,
    costUsd: done.costUsd,
    ttftMs: Math.max(0, (firstMs ?? done.timings.endMs) - arrivalMs),
    texts,
    offsetsMs,
  };
  if (!uniform) entry.tokens = tokens;
  return entry;
}
