import type { GenerationEvent, GenerationRequest } from "../core/types.js";

/** Static description of one replica: where it runs and what it costs. */
export interface ReplicaInfo {
  /** Unique replica id, e.g. `llama-8b-h100/0`. */
  id: string;
  /** Deployment (pool) the replica belongs to. */
  deployment: string;
  /** Model id served. */
  model: string;
  provider: string;
  region: string;
  /** Accelerator type, e.g. `H100-SXM-80GB`; `external` for HTTP upstreams. */
  gpu: string;
  /** Accelerators per replica (the tensor-parallel degree for simulated engines). */
  gpuCount: number;
  /** Price of one accelerator-hour in USD. */
  pricePerGpuHourUsd: number;
  /**
   * Longest prompt + completion the replica can hold, when it is less than the model's context window (a KV
   * cache too small for the full context). The gateway serves the model with the smallest such window.
   */
  maxContextTokens?: number;
  /**
   * Sequences the replica runs at once (a simulated engine's maxNumSeqs); more than this wait in its own FIFO
   * queue, where the gateway's priorities no longer apply. Unknown for HTTP upstreams.
   */
  maxRunningSequences?: number;
  /** Tokens the replica's KV cache holds at once (simulated engines). */
  kvCacheTokens?: number;
  /** Tokens one engine step computes, prefill chunks plus decodes (a simulated engine's maxNumBatchedTokens). */
  maxBatchedTokens?: number;
  /** Prompt tokens per second when every step is a full prefill chunk (the simulated engine's roofline). */
  prefillTokensPerSecond?: number;
}

/** A point-in-time view of a replica's load, for readiness, routing and gauges. */
export interface ReplicaSnapshot {
  ready: boolean;
  /** Sequences being generated. */
  running: number;
  /** Sequences accepted but not yet scheduled. */
  waiting: number;
  /** Fraction of KV-cache blocks in use, 0..1 (0 when unknown). */
  kvCacheUsage: number;
}

/** Cumulative engine counters (vLLM's vocabulary), for backends that can see inside their engine. */
export interface BackendStats {
  steps: number;
  /** Milliseconds spent running engine steps since start. */
  busyMs: number;
  preemptions: number;
  /** Prompt tokens looked up in the prefix cache. */
  prefixCacheQueries: number;
  /** Prompt tokens found there. */
  prefixCacheHits: number;
  promptTokensComputed: number;
  generationTokens: number;
}

/**
 * A model server. Implementations: the simulated GPU engine and OpenAI-compatible HTTP upstreams.
 * The core never branches on which kind it has.
 */
export interface Backend {
  readonly replica: ReplicaInfo;
  /**
   * Starts a generation. Events: `token`* then one `done`; failures throw a GatewayError from the iterator.
   * Aborting the signal frees the request's queue slot and batch seat.
   */
  generate(request: GenerationRequest, signal: AbortSignal): AsyncIterable<GenerationEvent>;
  snapshot(): ReplicaSnapshot;
  /**
   * An active health check, for backends whose readiness cannot be seen from inside (HTTP upstreams): resolves
   * when the server answers, rejects when it does not. Called periodically by the pool.
   */
  probe?(signal: AbortSignal): Promise<void>;
  /** Cumulative engine counters, when the backend has them (simulated engines do; HTTP upstreams do not). */
  stats?(): BackendStats;
  close(): Promise<void>;
}
