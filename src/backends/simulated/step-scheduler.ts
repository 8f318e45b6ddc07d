import type { Work } from "./decode-run.js";
import type { KvCache } from "./kv-cache.js";
import type { Sequence } from "./sequence.js";
import type { EngineSettings, EngineStats } from "./types.js";

/** The engine counters scheduling moves. */
export type SchedulingCounters = Pick<EngineStats, "preemptions" | "prefixCacheQueries" | "prefixCacheHits">;

/**
 * The engine's queues and vLLM V1's scheduling policy (see Engine): which sequences a step runs, how many of
 * their tokens, which waiting requests it admits, and who is preempted when the KV pool runs out.
 */
export class StepScheduler {
  readonly waiting: Sequence[] = [];
  readonly running: Sequence[] = [];
  /** Set by schedule(): the waiting queue could not be admitted and cannot be until a sequence leaves. */
  waitingBlocked = false;
  readonly #kv: KvCache;
  readonly #settings: EngineSettings;
  readonly #counters: SchedulingCounters;

  constructor(deps: { kv: KvCache; settings: EngineSettings; counters: SchedulingCounters }) {
    this.#kv = deps.kv;
    this.#settings = deps.settings;
    this.#counters = deps.counters;
  }

  /** Some waiting request could be admitted at a later step without a sequence leaving first. */
  get waitingCanJoin(): boolean {
    return this.waiting.length > 0 && !this.waitingBlocked;
  }

  /** Takes a sequence out of whichever queue holds it. */
  remove(seq: Sequence): void {
    const list = seq.state === "running" ? this.running : seq.state === "waiting" ? this.waiting : undefined;
    if (list !== undefined) list.splice(list.indexOf(seq), 1);
  }

  /** Empties both queues and returns what they held (running first). */
  drain(): Sequence[] {
    const all = [...this.running, ...this.waiting];
    this.running.length = 0;
    this.waiting.length = 0;
    return all;
  }

  /** The next step's batch, its KV blocks reserved; admits waiting requests as they fit. */
  schedule(nowMs: number): Work[] {
    const kv = this.#kv;
    const settings = this.#settings;
    const batch: Work[] = [];
    const scheduled = new Set<Sequence>();
    let budget = settings.maxNumBatchedTokens;
    const preemptionsBefore = this.#counters.preemptions;
    const take = (seq: Sequence, newTokens: number, prefill: boolean) => {
      batch.push({ seq, contextTokens: seq.numComputed, newTokens, prefill });
      scheduled.add(seq);
      budget -= newTokens;
    };
    for (const seq of [...this.running]) {
      if (budget < 1) break;
      if (seq.state === "running" && seq.decoding && this.#reserve(seq, seq.numComputed + 1, scheduled)) {
        take(seq, 1, false);
      }
    }
    for (const seq of [...this.running]) {
      if (budget < 1) break;
      if (seq.state !== "running" || scheduled.has(seq)) continue;
      const newTokens = Math.min(seq.remaining, budget);
      if (this.#reserve(seq, seq.numComputed + newTokens, scheduled)) take(seq, newTokens, true);
    }
    this.waitingBlocked = false;
    if (this.#counters.preemptions > preemptionsBefore && batch.length > 0) return batch;
    // Waiting requests cannot join until a sequence finishes: the batch is full.
    this.waitingBlocked = this.running.length >= settings.maxNumSeqs;
    while (budget >= 1 && this.running.length < settings.maxNumSeqs) {
      const seq = this.waiting[0];
      if (seq === undefined) break;
      // At least the last token is recomputed: its logits are needed to sample (vLLM does the same).
      const hits = kv.lookup(seq.blockHashes(Math.floor((seq.length - 1) / kv.blockSize), kv.blockSize));
      const cached = hits.length * kv.blockSize;
      const newTokens = Math.min(seq.length - cached, budget);
      if (!kv.admit(seq.table, hits, cached + newTokens)) {
        // Nor can they while the pool only fills up (decodes take blocks; only a finish or abort frees any).
        this.waitingBlocked = true;
        break;
      }
      this.waiting.shift();
      this.running.push(seq);
      seq.state = "running";
      seq.numComputed = cached;
      if (kv.prefixCaching) {
        this.#counters.prefixCacheQueries += seq.length;
        this.#counters.prefixCacheHits += cached;
      }
      if (seq.scheduledMs === undefined) {
        seq.scheduledMs = nowMs;
        seq.cachedPromptTokens = cached;
      }
      take(seq, newTokens, true);
    }
    return batch;
  }

  /** Makes room for `tokens` tokens of `seq`, preempting others (or `seq` itself) until it fits. */
  #reserve(seq: Sequence, tokens: number, scheduled: ReadonlySet<Sequence>): boolean {
    while (!this.#kv.grow(seq.table, tokens)) {
      let victim = seq;
      for (let i = this.running.length - 1; i >= 0; i--) {
        const candidate = this.running[i] as Sequence;
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
    this.#kv.release(seq.table);
    this.running.splice(this.running.indexOf(seq), 1);
    this.waiting.unshift(seq);
    seq.state = "waiting";
    seq.numComputed = 0;
    seq.preemptions++;
    this.#counters.preemptions++;
  }
}
