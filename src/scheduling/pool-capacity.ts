import { Ewma } from "../routing/ewma.js";

/** Concurrency per replica when neither the config nor the replica says (HTTP upstreams). */
export const DEFAULT_PER_REPLICA = 32;
/** Completion length assumed for the typical sequence until the pool has seen one finish. */
const PRIOR_COMPLETION_TOKENS = 256;
/** Engine steps of prefill work a replica may hold by default (one running, one ready for the next step). */
const DEFAULT_BACKLOG_STEPS = 2;

/** What one replica can run, when it can tell (simulated engines); absent fields are unknown (HTTP upstreams). */
export interface ReplicaCapacity {
  /** Sequences it batches at once (vLLM's max_num_seqs). */
  maxRunningSequences?: number;
  /** Tokens its KV cache holds at once. */
  kvCacheTokens?: number;
  /** Tokens one engine step computes (vLLM's max_num_batched_tokens). */
  maxBatchedTokens?: number;
  /** Prompt tokens per second it prefills when every step is full of prefill (its roofline). */
  prefillTokensPerSecond?: number;
}

export interface PoolCapacityOptions {
  replicas: readonly ReplicaCapacity[];
  /** Configured requests per replica (scheduling.maxConcurrentPerReplica); wins over what the replicas say. */
  maxConcurrentPerReplica?: number;
  /** Configured prefill backlog per replica (scheduling.prefillBacklogTokensPerReplica). */
  prefillBacklogTokensPerReplica?: number;
  halfLifeMs: number;
}

/**
 * How much a pool can take at once, from what its replicas hold:
 * - **Slots**: a replica runs at most max_num_seqs sequences, and only as many as its KV cache holds at the pool's
 *   typical sequence length (prompt + completion, time-decayed means of what the pool has been sent). A limit of
 *   max_num_seqs alone (1,024 on an H100) lets long prompts pile up inside the engines, in their FIFO queues,
 *   where the gateway's priorities, deadlines and admission no longer reach them.
 * - **Prefill backlog**: prompt tokens dispatched but not yet prefilled. Prefill is what a long prompt waits for;
 *   a replica is kept at two engine steps of it (one being computed, one ready so no step runs short), and the
 *   rest waits in the gateway's queue, in priority and deadline order. Unbounded when the replicas do not say
 *   their step size and none is configured.
 */
export class PoolCapacity {
  readonly #options: PoolCapacityOptions;
  readonly #prompt: Ewma;
  readonly #completion: Ewma;
  readonly #backlogTokens: number;

  constructor(options: PoolCapacityOptions) {
    this.#options = options;
    this.#prompt = new Ewma({ halfLifeMs: options.halfLifeMs });
    this.#completion = new Ewma({ halfLifeMs: options.halfLifeMs });
    let backlog = 0;
    for (const r of options.replicas) {
      const own =
        options.prefillBacklogTokensPerReplica ??
        (r.maxBatchedTokens === undefined ? undefined : DEFAULT_BACKLOG_STEPS * r.maxBatchedTokens);
      backlog += own ?? Number.POSITIVE_INFINITY;
    }
    this.#backlogTokens = options.replicas.length === 0 ? Number.POSITIVE_INFINITY : backlog;
  }

  /** A request was admitted to the pool with this many prompt tokens. */
  observePrompt(tokens: number, nowMs: number): void {
    this.#prompt.observe(tokens, nowMs);
  }

  /** A request finished with this many completion tokens. */
  observeCompletion(tokens: number, nowMs: number): void {
    this.#completion.observe(tokens, nowMs);
  }

  /** The pool's typical sequence (prompt + completion) in tokens; undefined before any request. */
  typicalSequenceTokens(): number | undefined {
    const prompt = this.#prompt.value();
    if (prompt === undefined) return undefined;
    return prompt + (this.#completion.value() ?? PRIOR_COMPLETION_TOKENS);
  }

  /** Requests the pool runs at once now (at least 1). */
  concurrencyLimit(): number {
    const { replicas, maxConcurrentPerReplica } = this.#options;
    if (maxConcurrentPerReplica !== undefined) return Math.max(1, replicas.length * maxConcurrentPerReplica);
    const typical = this.typicalSequenceTokens();
    let limit = 0;
    for (const r of replicas) {
      let own = r.maxRunningSequences ?? DEFAULT_PER_REPLICA;
      if (r.kvCacheTokens !== undefined && typical !== undefined && typical > 0)
        own = Math.min(own, Math.max(1, Math.floor(r.kvCacheTokens / typical)));
      limit += own;
    }
    return Math.max(1, limit);
  }

  /** Prompt tokens the replicas may hold unprefilled before requests wait in the gateway (Infinity: no bound). */
  prefillBacklogLimit(): number {
    return this.#backlogTokens;
  }

  /**
   * Time one replica takes for a full step of prefill at the pool's rate `tokensPerSecond`: a first token comes
   * only at the end of a step, so a prediction from tokens alone is early by up to this much. 0 when the
   * replicas do not state their step size.
   */
  stepMs(tokensPerSecond: number): number {
    const { replicas } = this.#options;
    let chunks = 0;
    for (const r of replicas) {
      if (r.maxBatchedTokens === undefined) return 0;
      chunks += r.maxBatchedTokens;
    }
    // Each replica drains its share of the pool's rate; chunks / replicas is the mean step size.
    return (chunks * 1000) / tokensPerSecond;
  }

  /** The replicas' summed roofline prefill throughput; undefined unless every replica states one. */
  prefillPrior(): number | undefined {
    const { replicas } = this.#options;
    if (replicas.length === 0) return undefined;
    let sum = 0;
    for (const r of replicas) {
      if (r.prefillTokensPerSecond === undefined) return undefined;
      sum += r.prefillTokensPerSecond;
    }
    return sum;
  }
}
