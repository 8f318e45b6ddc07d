import { type Clock, sleep } from "../core/clock.js";
import { GatewayError } from "../core/errors.js";
import type { Random } from "../core/random.js";
import type { GenerationEvent, GenerationRequest } from "../core/types.js";
import type { Backend, BackendStats, ReplicaInfo, ReplicaSnapshot } from "./backend.js";

/** A fault set at run time through the admin API, to rehearse failures on a live fleet. */
export type RuntimeFault =
  | { mode: "none" }
  /** The replica is down: not ready, new requests refused, requests in flight cut off. */
  | { mode: "outage" }
  /** Each request fails before its first token with this probability (a retryable 5xx). */
  | { mode: "errors"; rate: number }
  /** Every event is delivered `factor` times later than the replica produced it (a slow link or GPU). */
  | { mode: "slow"; factor: number }
  /** Requests are accepted and never answered (a hung replica that still looks alive). */
  | { mode: "hang" };

/**
 * Wraps any backend (simulated or HTTP) so its behaviour can be degraded at run time. The wrapper works on the
 * event stream, so it needs nothing from the backend: "slow" stretches the gaps between events on the clock
 * (the replica's own throughput is unchanged; for a slower simulated engine use the config's
 * `faults.latencyMultiplier`).
 */
export class FaultInjectingBackend implements Backend {
  readonly #inner: Backend;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #inFlight = new Set<AbortController>();
  #fault: RuntimeFault = { mode: "none" };

  constructor(inner: Backend, options: { clock: Clock; random: Random }) {
    this.#inner = inner;
    this.#clock = options.clock;
    this.#random = options.random;
    if (inner.stats !== undefined) this.stats = () => (inner.stats as () => BackendStats)();
    if (inner.probe !== undefined) {
      const probe = inner.probe.bind(inner);
      this.probe = (signal) =>
        this.#fault.mode === "outage" ? Promise.reject(this.#outageError()) : probe(signal);
    }
  }

  stats?: () => BackendStats;
  probe?: (signal: AbortSignal) => Promise<void>;

  get replica(): ReplicaInfo {
    return this.#inner.replica;
  }

  get fault(): RuntimeFault {
    return this.#fault;
  }

  setFault(fault: RuntimeFault): void {
    this.#fault = fault;
    if (fault.mode !== "outage") return;
    const down = this.#outageError();
    for (const controller of this.#inFlight) controller.abort(down);
  }

  /** Generations this wrapper can still cut off (an outage aborts them). */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  snapshot(): ReplicaSnapshot {
    const snapshot = this.#inner.snapshot();
    return this.#fault.mode === "outage" ? { ...snapshot, ready: false } : snapshot;
  }

  generate(request: GenerationRequest, signal: AbortSignal): AsyncIterable<GenerationEvent> {
    const fault = this.#fault;
    if (fault.mode !== "none") return this.#faulty(request, signal, fault);
    // The healthy path adds no generator frame per token (it is on every request's path): it only keeps the
    // generation's abort handle, so an outage set later can cut it off.
    const tracked = this.#track(signal);
    const inner = this.#inner.generate(request, tracked.controller.signal)[Symbol.asyncIterator]();
    const iterator: AsyncIterableIterator<GenerationEvent> = {
      next: () =>
        inner.next().then(
          (result) => {
            if (result.done) {
              tracked.release();
              tracked.throwIfCutOff();
            } else if (result.value.type === "done") {
              // The done event ends the generation: consumers stop reading there (the dispatcher does), so
              // release now rather than on an end-of-stream read that never comes.
              tracked.release();
            }
            return result;
          },
          (error: unknown) => {
            tracked.release();
            tracked.throwIfCutOff();
            throw error;
          },
        ),
      return: async () => {
        tracked.release();
        await inner.return?.();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  async *#faulty(
    request: GenerationRequest,
    signal: AbortSignal,
    fault: RuntimeFault,
  ): AsyncGenerator<GenerationEvent> {
    // A client already gone gets nothing, not even an injected failure: there is no one to tell.
    if (signal.aborted) return;
    if (fault.mode === "outage") throw this.#outageError();
    if (fault.mode === "errors" && this.#random.next() < fault.rate) {
      throw new GatewayError(
        "backend_error",
        `Replica ${this.replica.id} failed the request (injected errors).`,
      );
    }
    if (fault.mode === "hang") {
      // No timer: a hung replica answers never, and the dispatcher's timeouts (or the client) abort it.
      await abortOf(signal);
      return;
    }
    const tracked = this.#track(signal);
    const { controller } = tracked;
    try {
      // Each event is delivered as if everything after dispatch took `factor` times as long: at
      // start + (produced - start) x factor, from the time the replica produced it.
      const start = this.#clock.now();
      for await (const event of this.#inner.generate(request, controller.signal)) {
        const current = this.#fault;
        const factor = current.mode === "slow" ? current.factor : 1;
        const produced = event.type === "token" ? event.atMs : event.timings.endMs;
        const due = start + (produced - start) * factor;
        const wait = due - this.#clock.now();
        if (wait > 0) await sleep(this.#clock, wait, controller.signal);
        if (event.type === "token") yield { ...event, atMs: Math.max(due, event.atMs) };
        else {
          const stretch = (ms: number) => Math.max(ms, start + (ms - start) * factor);
          const { timings } = event;
          // As on the healthy path: released at the done event, which is where consumers stop reading.
          tracked.release();
          yield {
            ...event,
            timings: {
              ...timings,
              firstTokenMs: stretch(timings.firstTokenMs),
              endMs: stretch(timings.endMs),
            },
          };
        }
      }
      tracked.throwIfCutOff();
    } catch (error) {
      tracked.throwIfCutOff();
      // The client's abort ends the stream quietly, as every backend's does (the delay's sleep rejects with it).
      if (signal.aborted) return;
      throw error;
    } finally {
      tracked.release();
    }
  }

  /** An abort handle for one generation, linked to the client's signal and registered for outages. */
  #track(signal: AbortSignal) {
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal.reason);
    // A signal that has already fired fires no event: pass its abort on now, or the replica would run the
    // whole generation for a client that is gone.
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener("abort", onAbort, { once: true });
    this.#inFlight.add(controller);
    return {
      controller,
      release: () => {
        signal.removeEventListener("abort", onAbort);
        this.#inFlight.delete(controller);
      },
      /** An outage set mid-generation surfaces as the outage, not as the abort it caused. */
      throwIfCutOff: () => {
        if (controller.signal.aborted && !signal.aborted) throw controller.signal.reason;
      },
    };
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  #outageError(): GatewayError {
    return new GatewayError("replica_unavailable", `Replica ${this.replica.id} is down (injected outage).`, {
      retryAfterSeconds: 1,
    });
  }
}

/** Resolves when `signal` aborts (at once when it already has); the listener goes with it. */
function abortOf(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}
