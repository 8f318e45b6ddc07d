import type { Random } from "../core/random.js";

/**
 * What a routing policy sees. Policies are pure functions of (request, replica views, context): no I/O, no
 * clock reads, no module state, so each is a table-driven unit test and runs unchanged in the simulator.
 */

/** One candidate replica, as the pool sees it at decision time. */
export interface ReplicaView {
  id: string;
  deployment: string;
  provider: string;
  region: string;
  gpu: string;
  /** Relative share for weighted policies (config `weight`, default 1). */
  weight: number;
  /** Price of the whole replica per hour: GPU-hour price x GPUs. */
  pricePerHourUsd: number;
  /** False when unhealthy, ejected or its circuit breaker refuses traffic: never pick it. */
  available: boolean;
  /** Requests this gateway has in flight on the replica. */
  outstanding: number;
  /** The replica's own queue and batch, when it reports them (simulated engines, vLLM /metrics). */
  running: number;
  waiting: number;
  /** KV-cache blocks in use, 0..1 (0 when unknown). */
  kvCacheUsage: number;
  /** Smoothed observed time to first token (ms), undefined until the first observation. */
  ttftEwmaMs: number | undefined;
  /** Smoothed observed time per output token (ms), undefined until the first observation. */
  tpotEwmaMs: number | undefined;
}

/** The request features policies may use. */
export interface RouteRequest {
  promptTokens: readonly number[];
  maxTokens: number;
  /** Latency targets of the request's SLO class, when it has one (ms). */
  slo?: { ttftMs?: number; tpotMs?: number; e2eMs?: number };
}

export interface PolicyContext {
  /** Clock time of the decision (ms). */
  nowMs: number;
  /** Seeded randomness for randomised policies. */
  random: Random;
  /** How many decisions this pool has made before this one (round-robin position, tie-break rotation). */
  sequence: number;
}

/** Index of the chosen replica in `replicas`, or -1 when none is available. */
export type RoutingPolicy = (
  request: RouteRequest,
  replicas: readonly ReplicaView[],
  context: PolicyContext,
) => number;
