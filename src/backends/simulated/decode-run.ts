import type { KvCache } from "./kv-cache.js";
import type { LatencyModel } from "./roofline.js";
import type { Sequence } from "./sequence.js";

/** One sequence's share of a step (the engine's batch entry). */
export interface Work {
  seq: Sequence;
  contextTokens: number;
  newTokens: number;
  prefill: boolean;
}

/** A run never spans more steps than this (bounds its arrays; a longer decode takes several runs). */
const MAX_RUN_STEPS = 4096;

/**
 * A decode run: consecutive engine steps whose batch cannot change, simulated as one event instead of one
 * timer per step. When every running sequence is decoding, no waiting request can be admitted (none waits,
 * the batch is at max_num_seqs, or the head of the queue did not fit in the KV pool, which decodes only fill
 * further), and no sequence can finish or need a KV block the pool does not have before step k, vLLM's
 * scheduler would schedule the same batch k times
 * over, each step one token longer per sequence. Those k step times are computed up front from the same
 * latency model (each with its own context lengths), so the run ends at exactly the time the k single steps
 * would, and each sequence receives its tokens stamped with the end of the step that sampled them.
 *
 * Only sequences whose tokens nobody watches one by one (`coalesceTokens`, the offline simulator's requests)
 * run this way; a live stream sees every step. Anything that would change the batch (a new request, an
 * abort) cuts the run short at the end of the step in progress, where the per-step engine would have
 * rescheduled too.
 */
export class DecodeRun {
  readonly batch: readonly Work[];
  /** Duration of each step, ms (fault multiplier applied). */
  readonly durations: readonly number[];
  /** End time of each step on the engine's clock. */
  readonly ends: readonly number[];
  /** numComputed of each batch entry when the run began. */
  readonly #contexts: readonly number[];
  #count: number;
  /** pendingBlocks' last answer and the number of started steps it was for. */
  #pendingFor = -1;
  #pending = 0;
  /** completedBy's last answer. */
  #completed = 0;
  #applied = 0;

  private constructor(batch: readonly Work[], durations: number[], ends: number[]) {
    this.batch = batch;
    this.durations = durations;
    this.ends = ends;
    this.#contexts = batch.map((work) => work.contextTokens);
    this.#count = durations.length;
  }

  /**
   * The run starting with `batch` (already scheduled, its blocks for the first step reserved) at `startMs`,
   * or undefined when the batch could change before a second step: a waiting request could join, one is
   * prefilling or streamed live, one may stop on a stop string, or it is its last token.
   */
  static plan(input: {
    batch: Work[];
    running: number;
    /** Some waiting request could be admitted at a later step (the batch is not full, the pool not short). */
    waitingCanJoin: boolean;
    kv: KvCache;
    latency: LatencyModel;
    latencyMultiplier: number;
    startMs: number;
    firstDurationMs: number;
  }): DecodeRun | undefined {
    const { batch, kv } = input;
    if (input.waitingCanJoin || batch.length !== input.running || input.firstDurationMs <= 0)
      return undefined;
    let steps = MAX_RUN_STEPS;
    for (const work of batch) {
      if (work.prefill || work.seq.request.coalesceTokens !== true) return undefined;
      const left = work.seq.writer.tokensLeft();
      if (left === undefined) return undefined;
      steps = Math.min(steps, left);
    }
    steps = fittingSteps(batch, kv, steps);
    if (steps < 2) return undefined;
    const durations = [input.firstDurationMs];
    const ends = [input.startMs + input.firstDurationMs];
    for (let i = 1; i < steps; i++) {
      for (const work of batch) work.contextTokens++;
      const duration = input.latency.estimate(batch).stepMs * input.latencyMultiplier;
      durations.push(duration);
      ends.push((ends[i - 1] as number) + duration);
    }
    for (const work of batch) work.contextTokens -= steps - 1;
    return new DecodeRun(batch, durations, ends);
  }

  /** Steps in the run (fewer after {@link cutAt}). */
  get count(): number {
    return this.#count;
  }

  get endMs(): number {
    return this.ends[this.#count - 1] as number;
  }

  /** Steps already applied to the sequences and the engine's counters (see Engine.#applyRun). */
  get applied(): number {
    return this.#applied;
  }

  /** Steps finished by `nowMs` (the one in progress, if any, excluded). */
  completedBy(nowMs: number): number {
    // Time only moves forward, so the scan resumes where the last call stopped.
    let done = this.#completed;
    if (done > 0 && (this.ends[done - 1] as number) > nowMs) done = 0;
    while (done < this.#count && (this.ends[done] as number) <= nowMs) done++;
    this.#completed = done;
    return done;
  }

  /** Ends the run with the step in progress at `nowMs`; returns that step's index. */
  cutAt(nowMs: number): number {
    const current = Math.min(this.#count - 1, this.completedBy(nowMs));
    this.#count = current + 1;
    this.#completed = Math.min(this.#completed, this.#count);
    this.#pendingFor = -1;
    return current;
  }

  /** Sum of the durations of steps [from, to), added in order (as step-by-step accounting adds them). */
  busyMs(from: number, to: number): number {
    let total = 0;
    for (let i = from; i < to; i++) total += this.durations[i] as number;
    return total;
  }

  /**
   * KV blocks the step-by-step engine would hold by `nowMs` beyond what is allocated: it reserves each
   * step's block as the step starts; the run allocates them when it applies the step.
   */
  pendingBlocks(nowMs: number, kv: KvCache): number {
    const started = Math.min(this.#count, this.completedBy(nowMs) + 1);
    // Routers ask on every pick; the answer changes only as steps start or are applied.
    if (started === this.#pendingFor) return this.#pending;
    let blocks = 0;
    for (let i = 0; i < this.batch.length; i++) {
      const work = this.batch[i] as Work;
      if (work.seq.state !== "running") continue;
      const context = (this.#contexts[i] as number) + started;
      blocks += Math.max(0, kv.blocksFor(context) - work.seq.table.blocks.length);
    }
    this.#pendingFor = started;
    this.#pending = blocks;
    return blocks;
  }

  /** Adds the steps finished by `nowMs` but not yet applied to `counters`, as the step-by-step engine has them. */
  countFinished(nowMs: number, counters: RunCounters): void {
    const done = this.completedBy(nowMs);
    counters.steps += done - this.#applied;
    counters.busyMs += this.busyMs(this.#applied, done);
    const decoding = this.batch.filter((work) => work.seq.state === "running").length;
    counters.generationTokens += (done - this.#applied) * decoding;
  }

  /**
   * Applies steps [applied, to) in the order the step-by-step engine would: each step's KV blocks reserved as
   * it starts, then per sequence its GPU-time share, the prefix-cache offer of a filled block, and its sampled
   * token, stamped with the step's end (a sequence's last token finishes it).
   */
  apply(to: number, context: ApplyContext): void {
    const { kv, tensorParallel, replicaId, counters } = context;
    const { batch, durations, ends } = this;
    for (let step = this.#applied; step < to; step++) {
      this.reserve(step, kv);
      const durationMs = durations[step] as number;
      counters.steps++;
      counters.busyMs += durationMs;
      const gpuMsPerToken = (durationMs * tensorParallel) / batch.length;
      const atMs = ends[step] as number;
      for (const { seq } of batch) {
        if (seq.state !== "running") continue; // aborted during the run
        seq.gpuMs += gpuMsPerToken;
        seq.numComputed += 1;
        if (kv.prefixCaching && seq.numComputed >= (seq.table.committed + 1) * kv.blockSize)
          kv.commit(seq.table, seq.numComputed, (index) => seq.blockHash(index, kv.blockSize));
        const sample = seq.writer.next();
        seq.append(sample.id);
        counters.generationTokens++;
        seq.sink.token({ type: "token", text: sample.text, tokens: 1, atMs });
        if (sample.finish === undefined) continue;
        context.finish(seq);
        seq.sink.done(seq.doneEvent({ finishReason: sample.finish, nowMs: atMs, replicaId }));
      }
    }
    this.#applied = Math.max(this.#applied, to);
    this.#pendingFor = -1;
  }

  /** Reserves step `step`'s KV blocks (step 0's were reserved when the run was scheduled). */
  reserve(step: number, kv: KvCache): void {
    if (step === 0) return;
    for (let i = 0; i < this.batch.length; i++) {
      const { seq } = this.batch[i] as Work;
      // grow is a no-op when the block is already there (a step reserved at a cut, then applied).
      if (seq.state === "running" && !kv.grow(seq.table, (this.#contexts[i] as number) + step + 1))
        throw new Error("DecodeRun: a run outgrew the KV pool it was planned for");
    }
  }
}

/** The engine counters a run moves. */
export interface RunCounters {
  steps: number;
  busyMs: number;
  generationTokens: number;
}

/** What applying steps needs from the engine: its pool, TP degree and id, counters, and how to finish. */
export interface ApplyContext {
  kv: KvCache;
  tensorParallel: number;
  replicaId: string;
  counters: RunCounters;
  /** Removes a finished sequence from the engine and frees its blocks. */
  finish(seq: Sequence): void;
}

/**
 * The most steps, up to `steps`, for which the pool has every block the batch will need: fresh blocks for
 * contexts growing one token a step (the first step's are already reserved).
 */
function fittingSteps(batch: readonly Work[], kv: KvCache, steps: number): number {
  const needed = (k: number) => {
    let blocks = 0;
    for (const work of batch) {
      blocks += Math.max(0, kv.blocksFor(work.contextTokens + k) - work.seq.table.blocks.length);
    }
    return blocks;
  };
  if (needed(steps) <= kv.freeBlocks) return steps;
  let fits = 1;
  let fails = steps;
  while (fails - fits > 1) {
    const mid = Math.floor((fits + fails) / 2);
    if (needed(mid) <= kv.freeBlocks) fits = mid;
    else fails = mid;
  }
  return fits;
}
