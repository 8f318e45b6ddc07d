import type { ReplicaView, RouteRequest } from "../types.js";

/**
 * The latency prediction shared by `lowest-latency` and `lowest-cost`, from what a replica view carries:
 *
 *     ttft = ttftBase x (1 + (outstanding + waiting) / queueScale)
 *     tpot = tpotBase
 *     e2e  = ttft + maxTokens x tpot
 *
 * - ttftBase, tpotBase: the replica's smoothed observations (`ttftEwmaMs`, `tpotEwmaMs`). A replica without
 *   observations gets a neutral prior: the mean over the available replicas that have one, so a new replica
 *   competes as an average one and is tried (then its own samples take over) instead of being starved by a
 *   pessimistic prior or flooded by an optimistic one. Before any replica has reported, `priorTtftMs` and
 *   `priorTpotMs` stand in; they are the same for every replica, so only queueing (and price) then decide.
 * - Queueing: the EWMA describes the latency at the load it was observed under, so the current backlog scales
 *   it. Each `queueScale` requests ahead (this gateway's in-flight ones plus the engine's own waiting queue)
 *   cost about one more TTFT: with continuous batching a replica admits several prompts per step (vLLM's
 *   chunked prefill packs up to `max_num_batched_tokens`, 2048-8192 tokens, i.e. a few prompts), so the queue
 *   drains `queueScale` at a time. queueScale = 1 is Finagle's peak-EWMA load balancer ("latency x (pending +
 *   1)", also Linkerd's), the right model for servers that take one request at a time.
 * - TPOT is not scaled: a decode step is memory-bound and a bigger batch slows it only a little (the weights
 *   are read once per step for the whole batch), and the EWMA already reflects the replica's usual batch.
 * `maxTokens` is an upper bound on the output, so e2e is pessimistic for requests that stop early; it is the
 * same bound for every replica, so it does not distort the ranking.
 */
export interface LatencyModelOptions {
  /** Requests ahead that add one TTFT of queueing delay (default 4, see above). */
  queueScale?: number;
  /** TTFT assumed before any replica of the pool has reported one (ms, default 250). */
  priorTtftMs?: number;
  /** TPOT assumed before any replica of the pool has reported one (ms, default 25). */
  priorTpotMs?: number;
}

export interface LatencyModel {
  queueScale: number;
  priorTtftMs: number;
  priorTpotMs: number;
}

export interface LatencyPrediction {
  ttftMs: number;
  tpotMs: number;
  e2eMs: number;
}

/** Validates the options once, at construction; errors name the option, the rule and the value. */
export function latencyModel(policy: string, options: LatencyModelOptions = {}): LatencyModel {
  const model = {
    queueScale: options.queueScale ?? 4,
    priorTtftMs: options.priorTtftMs ?? 250,
    priorTpotMs: options.priorTpotMs ?? 25,
  };
  for (const [name, value] of Object.entries(model)) {
    if (!(Number.isFinite(value) && value > 0)) {
      throw new RangeError(`${policy}: ${name} must be a finite number > 0, got ${value}`);
    }
  }
  return model;
}

/** The pool's neutral priors: mean observed TTFT and TPOT over the available replicas that have them. */
export function latencyPriors(
  replicas: readonly ReplicaView[],
  model: LatencyModel,
): { ttftMs: number; tpotMs: number } {
  let ttftSum = 0;
  let ttftCount = 0;
  let tpotSum = 0;
  let tpotCount = 0;
  for (const r of replicas) {
    if (!r.available) continue;
    if (r.ttftEwmaMs !== undefined) {
      ttftSum += r.ttftEwmaMs;
      ttftCount++;
    }
    if (r.tpotEwmaMs !== undefined) {
      tpotSum += r.tpotEwmaMs;
      tpotCount++;
    }
  }
  return {
    ttftMs: ttftCount > 0 ? ttftSum / ttftCount : model.priorTtftMs,
    tpotMs: tpotCount > 0 ? tpotSum / tpotCount : model.priorTpotMs,
  };
}

export function predictLatency(
  replica: ReplicaView,
  request: RouteRequest,
  priors: { ttftMs: number; tpotMs: number },
  model: LatencyModel,
): LatencyPrediction {
  const queue = replica.outstanding + replica.waiting;
  const ttftMs = (replica.ttftEwmaMs ?? priors.ttftMs) * (1 + queue / model.queueScale);
  const tpotMs = replica.tpotEwmaMs ?? priors.tpotMs;
  return { ttftMs, tpotMs, e2eMs: ttftMs + request.maxTokens * tpotMs };
}
