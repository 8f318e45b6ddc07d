import type { Clock, TimerHandle } from "../../core/clock.js";
import { GatewayError } from "../../core/errors.js";
import type { FaultInjector } from "./faults.js";
import type { KvCache } from "./kv-cache.js";
import type { LatencyModel } from "./latency-model.js";
import type { Sequence } from "./sequence.js";
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
 */
interface Work {
  seq: Sequence;
  contextTokens: number;
  newTokens: number;
  prefill: boolean;
}

interface Step {
  batch: Work[];
  startMs: number;
  durationMs: number;
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
  readonly #waiting: Sequence[] = [];
  readonly #running: Sequence[] = [];
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
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  get running(): number {
    return this.#running.length;
  }

  stats(): EngineStats {
    const { kv } = this.#deps;
    return { ...this.#counters, kvBlocksTotal: kv.totalBlocks, kvBlocksUsed: kv.usedBlocks };
  }

  submit(seq: Sequence): void {
    this.#waiting.push(seq);
    this.#pump();
  }

  /** Removes a sequence wherever it is and frees its blocks; it emits nothing more. */
  abort(seq: Sequence): void {
    if (seq.state === "finished") return;
    this.#finish(seq);
    this.#pump();
  }

  /** Fails every sequence in flight with `error` and forgets the KV cache (a crash, or shutdown). */
  failAll(error: GatewayError): void {
    const now = this.#deps.clock.now();
    if (this.#step !== undefined) this.#counters.busyMs += now - this.#step.startMs;
    this.#step = undefined;
    this.#clearTimer();
    const victims = [...this.#running, ...this.#waiting];
    this.#running.length = 0;
    this.#waiting.length = 0;
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
    if (this.#waiting.length === 0 && this.#running.length === 0) return;
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
    const batch = this.#schedule();
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
      this.#timer = clock.setTimer(durationMs, () => this.#finishStep());
    }
  }

  #schedule(): Work[] {
    const { kv, settings } = this.#deps;
    const batch: Work[] = [];
    const scheduled = new Set<Sequence>();
    let budget = settings.maxNumBatchedTokens;
    const preemptionsBefore = this.#counters.preemptions;
    const take = (seq: Sequence, newTokens: number, prefill: boolean) => {
      batch.push({ seq, contextTokens: seq.numComputed, newTokens, prefill });
      scheduled.add(seq);
      budget -= newTokens;
    };
    for (const seq of [...this.#running]) {
      if (budget < 1) break;
      if (seq.state === "running" && seq.decoding && this.#reserve(seq, seq.numComputed + 1, scheduled)) {
        take(seq, 1, false);
      }
    }
    for (const seq of [...this.#running]) {
      if (budget < 1) break;
      if (seq.state !== "running" || scheduled.has(seq)) continue;
      const newTokens = Math.min(seq.remaining, budget);
      if (this.#reserve(seq, seq.numComputed + newTokens, scheduled)) take(seq, newTokens, true);
    }
    if (this.#counters.preemptions > preemptionsBefore && batch.length > 0) return batch;
    const now = this.#deps.clock.now();
    while (budget >= 1 && this.#running.length < settings.maxNumSeqs) {
      const seq = this.#waiting[0];
      if (seq === undefined) break;
      // At least the last token is recomputed: its logits are needed to sample (vLLM does the same).
      const hits = kv.lookup(
        seq.blockHashes(Math.floor((seq.tokens.length - 1) / kv.blockSize), kv.blockSize),
      );
      const cached = hits.length * kv.blockSize;
      const newTokens = Math.min(seq.tokens.length - cached, budget);
      if (!kv.admit(seq.table, hits, cached + newTokens)) break;
      this.#waiting.shift();
      this.#running.push(seq);
      seq.state = "running";
      seq.numComputed = cached;
      if (kv.prefixCaching) {
        this.#counters.prefixCacheQueries += seq.tokens.length;
        this.#counters.prefixCacheHits += cached;
      }
      if (seq.scheduledMs === undefined) {
        seq.scheduledMs = now;
        seq.cachedPromptTokens = cached;
      }
      take(seq, newTokens, true);
    }
    return batch;
  }

  /** Makes room for `tokens` tokens of `seq`, preempting others (or `seq` itself) until it fits. */
  #reserve(seq: Sequence, tokens: number, scheduled: ReadonlySet<Sequence>): boolean {
    const { kv } = this.#deps;
    while (!kv.grow(seq.table, tokens)) {
      let victim = seq;
      for (let i = this.#running.length - 1; i >= 0; i--) {
        const candidate = this.#running[i] as Sequence;
        if (candidate !== seq && !scheduled.has(candidate)) {
          victim = candidate;
          break;
        }
      }
      this.#preempt(victim);
      if (victim === seq) return false;
    }
    return true;
  }

  #preempt(seq: Sequence): void {
    this.#deps.kv.release(seq.table);
    this.#running.splice(this.#running.indexOf(seq), 1);
    this.#waiting.unshift(seq);
    seq.state = "waiting";
    seq.numComputed = 0;
    seq.preemptions++;
    this.#counters.preemptions++;
  }

  #finishStep(): void {
    const step = this.#step;
    this.#timer = undefined;
    this.#step = undefined;
    if (step === undefined) return;
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
      seq.tokens.push(sample.id);
      this.#counters.generationTokens++;
      seq.firstTokenMs ??= now;
      seq.sink.token({ type: "token", text: sample.text, tokens: 1, atMs: now });
      if (sample.finish === undefined) continue;
      this.#finish(seq);
      seq.sink.done(seq.doneEvent({ finishReason: sample.finish, nowMs: now, replicaId }));
    }
    this.#pump();
  }

  #crash(): void {
    this.#timer = undefined;
    const { clock, faults, replicaId } = this.#deps;
    this.failAll(faults.outageError(clock.now(), `replica ${replicaId} went down (injected outage)`));
  }

  #finish(seq: Sequence): void {
    const list =
      seq.state === "running" ? this.#running : seq.state === "waiting" ? this.#waiting : undefined;
    if (list !== undefined) list.splice(list.indexOf(seq), 1);
    this.#deps.kv.release(seq.table);
    seq.state = "finished";
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#deps.clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }
}
