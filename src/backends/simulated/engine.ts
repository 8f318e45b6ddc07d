import type { Clock, TimerHandle } from "../../core/clock.js";
import { GatewayError } from "../../core/errors.js";
import { DecodeRun, type Work } from "./decode-run.js";
import type { FaultInjector } from "./faults.js";
import type { KvCache } from "./kv-cache.js";
import type { LatencyModel } from "./roofline.js";
import type { Sequence } from "./sequence.js";
import { StepScheduler } from "./step-scheduler.js";
import type { EngineSettings, EngineStats } from "./types.js";

/**
 * The continuous-batching scheduler, modelled on vLLM V1's default: iteration-level batching with chunked
 * prefill. Each step has a budget of `maxNumBatchedTokens` tokens, spent in this order:
 *   1. running decodes, one token each (a new KV block at each block boundary);
 *   2. running sequences still prefilling, a chunk each of what the budget leaves;
 *   3. waiting requests, FIFO, while fewer than `maxNumSeqs` run and their first chunk's blocks are free
 *      (longest prefix-cache hit first). Admission stops at the first request that does not fit.
 * When a running sequence needs a block and none is free (cached blocks are evicted LRU first), the most
 * recently admitted sequence not yet scheduled this step is preempted by recompute: its KV is dropped and it
 * goes back to the head of the queue. As in vLLM V1, a step that preempted admits no new requests.
 * Steps run back to back on the injected clock while there is work; with none, no timer is left behind.
 * Steps whose batch cannot change run as one decode run (decode-run.ts) when nobody streams their tokens.
 */
interface Step {
  batch: Work[];
  startMs: number;
  durationMs: number;
  /** Set when the step is the first of a decode run (see decode-run.ts) that covers the steps after it. */
  run?: DecodeRun;
}

export interface EngineDeps {
  clock: Clock;
  kv: KvCache;
  latency: LatencyModel;
  faults: FaultInjector;
  settings: EngineSettings;
  tensorParallel: number;
  replicaId: string;
}

type Counters = Omit<EngineStats, "kvBlocksTotal" | "kvBlocksUsed">;

/** Zero-time steps run in one event-loop turn before the engine yields (bounds the time it holds the loop). */
const MAX_INSTANT_STEPS = 64;

export class Engine {
  readonly #deps: EngineDeps;
  readonly #queues: StepScheduler;
  #step: Step | undefined;
  /** Zero-duration steps run back to back since the engine last yielded to the event loop. */
  #instantSteps = 0;
  #timer: TimerHandle | undefined;
  readonly #counters: Counters = {
    steps: 0,
    busyMs: 0,
    preemptions: 0,
    prefixCacheQueries: 0,
    prefixCacheHits: 0,
    promptTokensComputed: 0,
    generationTokens: 0,
  };

  constructor(deps: EngineDeps) {
    this.#deps = deps;
    this.#queues = new StepScheduler({ kv: deps.kv, settings: deps.settings, counters: this.#counters });
  }

  get waiting(): number {
    return this.#queues.waiting.length;
  }

  get running(): number {
    return this.#queues.running.length;
  }

  /** KV blocks in use, as the step-by-step engine would hold them now (a decode run allocates at its end). */
  get kvBlocksUsed(): number {
    const { kv, clock } = this.#deps;
    const run = this.#step?.run;
    return kv.usedBlocks + (run === undefined ? 0 : run.pendingBlocks(clock.now(), kv));
  }

  stats(): EngineStats {
    const { kv, clock } = this.#deps;
    const counters = { ...this.#counters };
    const run = this.#step?.run;
    if (run !== undefined) run.countFinished(clock.now(), counters);
    return { ...counters, kvBlocksTotal: kv.totalBlocks, kvBlocksUsed: this.kvBlocksUsed };
  }

  submit(seq: Sequence): void {
    this.#queues.waiting.push(seq);
    this.#cutRun();
    this.#pump();
  }

  /** Removes a sequence wherever it is and frees its blocks; it emits nothing more. */
  abort(seq: Sequence): void {
    if (seq.state === "finished") return;
    this.#cutRun();
    this.#finish(seq);
    this.#pump();
  }

  /**
   * The batch is about to change: a decode run in progress ends with its current step. The steps finished
   * so far are applied now, and the current one's blocks reserved, so that what changes the batch (an abort
   * releasing blocks) finds the state the step-by-step engine would be in.
   */
  #cutRun(): void {
    const run = this.#step?.run;
    if (run === undefined) return;
    const { clock } = this.#deps;
    const current = run.cutAt(clock.now());
    this.#applyRun(run, current);
    run.reserve(current, this.#deps.kv);
    this.#clearTimer();
    this.#timer = clock.setTimer(run.endMs - clock.now(), () => this.#finishStep());
  }

  /** Fails every sequence in flight with `error` and forgets the KV cache (a crash, or shutdown). */
  failAll(error: GatewayError): void {
    const now = this.#deps.clock.now();
    const run = this.#step?.run;
    // A run's finished steps count in full (applied); the step in progress counts up to now.
    if (run !== undefined) this.#applyRun(run, run.completedBy(now));
    const currentStartMs = run?.ends[run.applied - 1] ?? this.#step?.startMs;
    if (currentStartMs !== undefined) this.#counters.busyMs += now - currentStartMs;
    this.#step = undefined;
    this.#clearTimer();
    const victims = this.#queues.drain();
    this.#deps.kv.reset();
    for (const seq of victims) {
      seq.state = "finished";
      seq.table.blocks = [];
      seq.sink.fail(error);
    }
  }

  /** Arms the one timer the engine needs: the next step, or (while hung) the next crash. */
  #pump(): void {
    if (this.#step !== undefined) return;
    this.#clearTimer();
    if (this.#queues.waiting.length === 0 && this.#queues.running.length === 0) return;
    const { clock, faults } = this.#deps;
    if (faults.hang) {
      // A hung GPU never finishes a step, but an outage still kills what it holds.
      const at = faults.nextOutageStart(clock.now());
      if (at !== undefined) this.#timer = clock.setTimer(at - clock.now(), () => this.#crash());
      return;
    }
    // Steps that take no time (the zero-latency profile) all happen at the same instant, so run a bounded
    // number back to back instead of paying an event-loop turn for each; then yield so I/O and new arrivals run.
    if (this.#instantSteps > 0 && this.#instantSteps < MAX_INSTANT_STEPS) {
      this.#startStep();
      return;
    }
    this.#instantSteps = 0;
    this.#timer = clock.setTimer(0, () => this.#startStep());
  }

  #startStep(): void {
    this.#timer = undefined;
    const { clock, latency, faults } = this.#deps;
    const batch = this.#queues.schedule(clock.now());
    if (batch.length === 0) return;
    const now = clock.now();
    const durationMs = latency.estimate(batch).stepMs * faults.latencyMultiplier;
    this.#step = { batch, startMs: now, durationMs };
    const outage = faults.nextOutageStart(now);
    if (outage !== undefined && outage < now + durationMs) {
      this.#timer = clock.setTimer(outage - now, () => this.#crash());
    } else if (durationMs === 0) {
      this.#instantSteps++;
      this.#finishStep();
    } else {
      this.#instantSteps = 0;
      const run =
        outage === undefined
          ? DecodeRun.plan({
              batch,
              running: this.#queues.running.length,
              waitingCanJoin: this.#queues.waitingCanJoin,
              kv: this.#deps.kv,
              latency,
              latencyMultiplier: faults.latencyMultiplier,
              startMs: now,
              firstDurationMs: durationMs,
            })
          : undefined;
      if (run !== undefined) this.#step.run = run;
      this.#timer = clock.setTimer((run?.endMs ?? now + durationMs) - now, () => this.#finishStep());
    }
  }

  #finishStep(): void {
    const step = this.#step;
    this.#timer = undefined;
    this.#step = undefined;
    if (step === undefined) return;
    if (step.run !== undefined) {
      this.#applyRun(step.run, step.run.count);
      this.#pump();
      return;
    }
    const { clock, kv, tensorParallel, replicaId } = this.#deps;
    const now = clock.now();
    this.#counters.steps++;
    this.#counters.busyMs += step.durationMs;
    let stepTokens = 0;
    for (const work of step.batch) stepTokens += work.newTokens;
    // The step occupied all TP GPUs; its GPU-time is shared in proportion to the tokens each sequence ran.
    const gpuMsPerToken = (step.durationMs * tensorParallel) / stepTokens;
    for (const { seq, newTokens, prefill } of step.batch) {
      if (seq.state !== "running") continue; // aborted during the step
      seq.gpuMs += gpuMsPerToken * newTokens;
      seq.numComputed += newTokens;
      if (prefill) this.#counters.promptTokensComputed += newTokens;
      // Only a step that filled a block has anything to offer the prefix cache (most decode steps do not).
      if (kv.prefixCaching && seq.numComputed >= (seq.table.committed + 1) * kv.blockSize)
        kv.commit(seq.table, seq.numComputed, (index) => seq.blockHash(index, kv.blockSize));
      if (seq.failsAtFirstStep) {
        this.#finish(seq);
        seq.sink.fail(
          new GatewayError("backend_error", `replica ${replicaId} failed the request (injected fault)`),
        );
        continue;
      }
      if (seq.remaining > 0) continue; // a prefill chunk that did not reach the end of the context
      const sample = seq.writer.next();
      seq.append(sample.id);
      this.#counters.generationTokens++;
      seq.firstTokenMs ??= now;
      seq.sink.token({ type: "token", text: sample.text, tokens: 1, atMs: now });
      if (sample.finish === undefined) continue;
      this.#finish(seq);
      seq.sink.done(seq.doneEvent({ finishReason: sample.finish, nowMs: now, replicaId }));
    }
    this.#pump();
  }

  #applyRun(run: DecodeRun, to: number): void {
    const { kv, tensorParallel, replicaId } = this.#deps;
    run.apply(to, {
      kv,
      tensorParallel,
      replicaId,
      counters: this.#counters,
      finish: (seq) => this.#finish(seq),
    });
  }

  #crash(): void {
    this.#timer = undefined;
    const { clock, faults, replicaId } = this.#deps;
    this.failAll(faults.outageError(clock.now(), `replica ${replicaId} went down (injected outage)`));
  }

  #finish(seq: Sequence): void {
    this.#queues.remove(seq);
    this.#deps.kv.release(seq.table);
    seq.state = "finished";
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#deps.clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }
}
