import { Channel } from "../../core/channel.js";
import type { Clock } from "../../core/clock.js";
import { GatewayError } from "../../core/errors.js";
import type { DoneEvent, GenerationEvent, GenerationRequest, TokenEvent } from "../../core/types.js";
import type { Backend, ReplicaInfo, ReplicaSnapshot } from "../backend.js";
import { CompletionWriter } from "./completion.js";
import { Engine } from "./engine.js";
import { FaultInjector } from "./faults.js";
import { KvCache } from "./kv-cache.js";
import { type MemoryPlan, planMemory } from "./memory.js";
import { createLatencyModel, createZeroLatencyModel, type LatencyModel } from "./roofline.js";
import { Sequence } from "./sequence.js";
import type { EngineCapacity, EngineStats, OutputSettings, SimulatedBackendOptions } from "./types.js";
import { validateSimulatedOptions } from "./validate-options.js";

export interface SimulatedCapacity extends EngineCapacity {
  /**
   * Longest prompt + max_tokens the replica accepts: the model's context length, or the KV pool when that is
   * smaller (vLLM would refuse to start unless max_model_len were lowered to fit; here requests are refused).
   */
  maxContextTokens: number;
  /** Tokens one step computes (maxNumBatchedTokens). */
  maxBatchedTokens: number;
  /**
   * Prompt tokens per second when every step is one full prefill chunk from an empty context (the roofline's
   * best case; steps shared with decodes do less); undefined under the zero-latency model.
   */
  prefillTokensPerSecond: number | undefined;
}

/**
 * A replica of the simulated GPU engine behind the {@link Backend} interface: the roofline latency model, a
 * paged KV cache with prefix caching, continuous batching with chunked prefill, and injected faults, all on the
 * injected clock. Each generation is a {@link Channel} fed by the engine's step timers.
 */
export class SimulatedBackend implements Backend {
  readonly replica: ReplicaInfo;
  readonly #clock: Clock;
  readonly #output: OutputSettings;
  readonly #plan: MemoryPlan;
  readonly #maxContextTokens: number;
  readonly #maxBatchedTokens: number;
  /** True when the KV pool, not the model's context length, bounds prompt + max_tokens. */
  readonly #kvLimited: boolean;
  readonly #kv: KvCache;
  readonly #faults: FaultInjector;
  readonly #engine: Engine;
  /** Exposed for calibration tests and the capacity planner. */
  readonly latency: LatencyModel;
  #closed = false;

  constructor(options: SimulatedBackendOptions) {
    validateSimulatedOptions(options);
    this.replica = options.replica;
    this.#clock = options.clock;
    this.#output = options.output;
    this.#plan = planMemory(options);
    this.#maxContextTokens = Math.min(options.model.contextLength, this.#plan.maxTokensInKv);
    this.#maxBatchedTokens = options.engine.maxNumBatchedTokens;
    this.#kvLimited = this.#plan.maxTokensInKv < options.model.contextLength;
    this.#kv = new KvCache({
      totalBlocks: this.#plan.kvBlocksTotal,
      blockSize: options.engine.blockSize,
      prefixCaching: options.engine.prefixCaching,
    });
    const roofline = createLatencyModel({ ...options, ...this.#plan });
    this.latency =
      options.latencyProfile === "zero" ? createZeroLatencyModel(roofline.peakFlopsPerGpu) : roofline;
    this.#faults = new FaultInjector(options.faults, { createdMs: options.clock.now(), seed: options.seed });
    this.#engine = new Engine({
      clock: options.clock,
      kv: this.#kv,
      latency: this.latency,
      faults: this.#faults,
      settings: options.engine,
      tensorParallel: options.tensorParallel,
      replicaId: options.replica.id,
    });
  }

  generate(request: GenerationRequest, signal: AbortSignal): AsyncIterable<GenerationEvent> {
    let seq: Sequence | undefined;
    let detach = () => {};
    const channel = new Channel<GenerationEvent>({
      // The consumer stopped reading (e.g. broke out of its loop): treat it as an abort.
      onReturn: () => {
        detach();
        if (seq !== undefined) this.#engine.abort(seq);
      },
    });
    const rejection = this.#rejection(request);
    if (rejection !== undefined) {
      channel.fail(rejection);
      return channel;
    }
    if (signal.aborted) {
      channel.end();
      return channel;
    }
    const onAbort = () => {
      if (seq !== undefined) this.#engine.abort(seq);
      channel.end();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    detach = () => signal.removeEventListener("abort", onAbort);
    seq = new Sequence({
      request,
      arrivalMs: this.#clock.now(),
      failsAtFirstStep: this.#faults.drawRequestFailure(),
      writer: new CompletionWriter(request, this.#output),
      sink: request.coalesceTokens
        ? coalescing(channel, detach)
        : {
            token: (event) => channel.push(event),
            done: (event) => {
              detach();
              channel.push(event);
              channel.end();
            },
            fail: (error) => {
              detach();
              channel.fail(error);
            },
          },
    });
    this.#engine.submit(seq);
    return channel;
  }

  snapshot(): ReplicaSnapshot {
    return {
      ready: !this.#closed && !this.#faults.inOutage(this.#clock.now()),
      running: this.#engine.running,
      waiting: this.#engine.waiting,
      kvCacheUsage: this.#engine.kvBlocksUsed / this.#kv.totalBlocks,
    };
  }

  stats(): EngineStats {
    return this.#engine.stats();
  }

  capacity(): SimulatedCapacity {
    const chunk = this.#maxBatchedTokens;
    const stepMs = this.latency.estimate([{ contextTokens: 0, newTokens: chunk }]).stepMs;
    return {
      kvBlocksTotal: this.#plan.kvBlocksTotal,
      maxTokensInKv: this.#plan.maxTokensInKv,
      maxContextTokens: this.#maxContextTokens,
      maxBatchedTokens: chunk,
      prefillTokensPerSecond: stepMs > 0 ? (chunk * 1000) / stepMs : undefined,
    };
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#engine.failAll(
        new GatewayError("service_unavailable", `replica ${this.replica.id} is shutting down`),
      );
    }
    return Promise.resolve();
  }

  /** Why a request cannot be accepted right now, if it cannot. */
  #rejection(request: GenerationRequest): GatewayError | undefined {
    const now = this.#clock.now();
    const id = this.replica.id;
    if (this.#closed) return new GatewayError("service_unavailable", `replica ${id} is closed`);
    if (this.#faults.inOutage(now))
      return this.#faults.outageError(now, `replica ${id} is down (injected outage)`);
    const prompt = request.promptTokens.length;
    const promptParam = request.kind === "chat" ? "messages" : "prompt";
    if (prompt < 1) return new GatewayError("invalid_request", "the prompt is empty", { param: promptParam });
    if (!Number.isInteger(request.maxTokens) || request.maxTokens < 1) {
      return new GatewayError(
        "invalid_request",
        `max_tokens must be an integer >= 1 (got ${request.maxTokens})`,
        {
          param: "max_tokens",
        },
      );
    }
    if (prompt + request.maxTokens > this.#maxContextTokens) {
      // vLLM's wording; which limit applies (model context or this replica's KV pool) is stated.
      const limit = this.#kvLimited
        ? `this replica's KV cache holds ${this.#maxContextTokens} tokens`
        : `this model's maximum context length is ${this.#maxContextTokens} tokens`;
      return new GatewayError(
        "context_length_exceeded",
        `${limit}. However, you requested ${prompt + request.maxTokens} tokens ` +
          `(${prompt} in the prompt, ${request.maxTokens} in the completion).`,
        { param: prompt >= this.#maxContextTokens ? promptParam : "max_tokens" },
      );
    }
    return undefined;
  }
}

export function createSimulatedBackend(options: SimulatedBackendOptions): SimulatedBackend {
  return new SimulatedBackend(options);
}

/**
 * The sink of a request with `coalesceTokens`: the first token goes out as it happens (it sets TTFT); the rest
 * are gathered into one event, sent with the `done` (the done's timings carry the end time, so TPOT is kept).
 */
function coalescing(channel: Channel<GenerationEvent>, detach: () => void) {
  let first = true;
  // Pieces joined once at the end: appending each token's text would build a rope of one cell per token.
  const pieces: string[] = [];
  let tokens = 0;
  let atMs = 0;
  return {
    token: (event: TokenEvent) => {
      if (first) {
        first = false;
        channel.push(event);
        return;
      }
      if (event.text !== "") pieces.push(event.text);
      tokens += event.tokens;
      atMs = event.atMs;
    },
    done: (event: DoneEvent) => {
      detach();
      if (tokens > 0) channel.push({ type: "token", text: pieces.join(""), tokens, atMs });
      channel.push(event);
      channel.end();
    },
    fail: (error: unknown) => {
      detach();
      channel.fail(error);
    },
  };
}
