import { Ewma } from "../routing/ewma.js";

/** Saturated time gathered into one drain-rate sample: a few engine steps of a large model. */
const SAMPLE_MS = 1_000;

interface Pending {
  tokens: number;
  dispatchedMs: number;
  /** Prefilled, ended, or too old to count: no longer pending. */
  settled: boolean;
}

/** A dispatched request's entry in the meter: settle it once, at its first token or its end. */
export interface PendingPrefill {
  /** Its first token arrived: its prompt is prefilled. `saturated`: requests were waiting in the gateway. */
  prefilled(nowMs: number, saturated: boolean): void;
  /** It ended without a first token (an error, a cancelled client): the work is abandoned. */
  abandoned(): void;
}

/**
 * The prefill work a pool's replicas hold and how fast they get through it. `pendingTokens` is the prompt tokens of
 * requests dispatched to the replicas that have no first token yet: what waits or runs inside the engines, counted
 * by the gateway itself, so it needs nothing from the backend (an HTTP upstream reports nothing).
 *
 * The drain rate is measured only while the pool is saturated (requests wait in the gateway's queue): then every
 * replica is busy, each first token makes room for the next request, and the completions' rate in prompt tokens
 * per second is the pool's prefill throughput under its real mix of prefill and decode (prefix-cache hits
 * included). Until such a sample exists the replicas' own roofline estimate is the prior (simulated engines);
 * without either, the rate is unknown and admission falls back to its slot model.
 *
 * A request that has waited longer than `staleMs` for its first token stops counting as pending: it is stuck on a
 * hung or failing replica (the router's timeouts will deal with it), and must not hold the healthy replicas' room.
 */
export class PrefillMeter {
  readonly #rate: Ewma;
  readonly #prior: number | undefined;
  /** Oldest first, so staleness is checked from the head only. */
  readonly #fifo: Pending[] = [];
  #head = 0;
  #pending = 0;
  #windowStartMs: number | undefined;
  #windowTokens = 0;

  constructor(options: { halfLifeMs: number; priorTokensPerSecond?: number }) {
    this.#rate = new Ewma({ halfLifeMs: options.halfLifeMs });
    this.#prior = options.priorTokensPerSecond;
  }

  /** Prefill tokens dispatched and not yet prefilled, ignoring entries older than `staleMs`. */
  pendingTokens(nowMs: number, staleMs: number): number {
    const fifo = this.#fifo;
    while (this.#head < fifo.length) {
      const oldest = fifo[this.#head]!;
      if (!oldest.settled && nowMs - oldest.dispatchedMs < staleMs) break;
      if (!oldest.settled) this.#settle(oldest);
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > fifo.length) {
      fifo.splice(0, this.#head);
      this.#head = 0;
    }
    return this.#pending;
  }

  /** Measured pool prefill throughput in prompt tokens per second, else the prior; undefined when neither. */
  tokensPerSecond(): number | undefined {
    return this.#rate.value() ?? this.#prior;
  }

  dispatched(tokens: number, nowMs: number): PendingPrefill {
    const entry: Pending = { tokens, dispatchedMs: nowMs, settled: false };
    this.#fifo.push(entry);
    this.#pending += tokens;
    return {
      prefilled: (atMs, saturated) => {
        if (entry.settled) return;
        this.#settle(entry);
        this.#sample(tokens, atMs, saturated);
      },
      abandoned: () => {
        if (!entry.settled) this.#settle(entry);
      },
    };
  }

  #settle(entry: Pending): void {
    entry.settled = true;
    this.#pending -= entry.tokens;
  }

  /** Gathers prefilled tokens over saturated time; an unsaturated moment discards the partial window. */
  #sample(tokens: number, nowMs: number, saturated: boolean): void {
    if (!saturated) {
      this.#windowStartMs = undefined;
      return;
    }
    if (this.#windowStartMs === undefined) {
      // The window opens at this completion: tokens finished before it belong to unsaturated time.
      this.#windowStartMs = nowMs;
      this.#windowTokens = 0;
      return;
    }
    this.#windowTokens += tokens;
    const elapsed = nowMs - this.#windowStartMs;
    if (elapsed < SAMPLE_MS) return;
    this.#rate.observe((this.#windowTokens * 1000) / elapsed, nowMs);
    this.#windowStartMs = nowMs;
    this.#windowTokens = 0;
  }
}
