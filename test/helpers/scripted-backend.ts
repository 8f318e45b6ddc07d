import type { Backend, ReplicaInfo, ReplicaSnapshot } from "../../src/backends/backend.js";
import { type Clock, sleep } from "../../src/core/clock.js";
import { GatewayError } from "../../src/core/errors.js";
import type { GenerationEvent, GenerationRequest } from "../../src/core/types.js";

export interface Script {
  /** Words to emit, one token each. */
  words: string[];
  /** Milliseconds before the first token and between tokens. */
  ttftMs: number;
  itlMs: number;
  /** Throw this error after emitting `failAfter` tokens. */
  failAfter?: number;
  failWith?: GatewayError;
  gpuSecondsPerToken?: number;
  /** Accept the request and never send a token (until aborted). */
  hang?: boolean;
}

/** The context window the double serves by default (prompt + completion): Llama 3.1's 128k. */
const DEFAULT_CONTEXT_TOKENS = 131_072;

/** A backend that plays a fixed script on the injected clock: for HTTP tests that must not depend on the engine. */
export class ScriptedBackend implements Backend {
  readonly replica: ReplicaInfo;
  ready = true;
  running = 0;
  readonly requests: GenerationRequest[] = [];
  readonly #clock: Clock;
  /** The script, replaceable mid-test (a replica that starts failing or recovers). */
  script: Script;

  constructor(options: {
    clock: Clock;
    script: Script;
    model: string;
    deployment?: string;
    index?: number;
    /** Longest prompt + completion it serves (declared on the replica, as real backends do). */
    maxContextTokens?: number;
  }) {
    this.#clock = options.clock;
    this.script = options.script;
    const deployment = options.deployment ?? "scripted";
    this.replica = {
      id: `${deployment}/${options.index ?? 0}`,
      deployment,
      model: options.model,
      provider: "test",
      region: "local",
      gpu: "H100-SXM-80GB",
      gpuCount: 1,
      pricePerGpuHourUsd: 3.6,
      maxContextTokens: options.maxContextTokens ?? DEFAULT_CONTEXT_TOKENS,
    };
  }

  async *generate(request: GenerationRequest, signal: AbortSignal): AsyncGenerator<GenerationEvent> {
    this.requests.push(request);
    if (!this.ready) throw new GatewayError("replica_unavailable", "scripted replica is down");
    const window = this.replica.maxContextTokens ?? DEFAULT_CONTEXT_TOKENS;
    if (request.promptTokens.length + request.maxTokens > window) {
      const message = `This model's maximum context length is ${window} tokens.`;
      throw new GatewayError("context_length_exceeded", message, { param: "max_tokens" });
    }
    const { words, ttftMs, itlMs, failAfter, failWith } = this.script;
    const arrivalMs = this.#clock.now();
    this.running++;
    try {
      if (this.script.hang)
        await sleep(this.#clock, Number.MAX_SAFE_INTEGER / 2, signal).catch(() => undefined);
      if (signal.aborted) return;
      let firstTokenMs = arrivalMs;
      const limit = Math.min(words.length, request.maxTokens);
      for (let i = 0; i < limit; i++) {
        if (failAfter === i && failWith) throw failWith;
        // An abort ends the stream quietly, without done, as every Backend's does (the contract's rule).
        const slept = await sleep(this.#clock, i === 0 ? ttftMs : itlMs, signal).then(
          () => true,
          () => false,
        );
        if (!slept) return;
        const atMs = this.#clock.now();
        if (i === 0) firstTokenMs = atMs;
        yield { type: "token", text: i === 0 ? words[i]! : ` ${words[i]}`, tokens: 1, atMs };
      }
      if (failAfter !== undefined && failAfter >= limit && failWith) throw failWith;
      yield {
        type: "done",
        finishReason: limit < words.length ? "length" : "stop",
        usage: { promptTokens: request.promptTokens.length, completionTokens: limit, cachedPromptTokens: 0 },
        timings: {
          arrivalMs,
          scheduledMs: arrivalMs,
          firstTokenMs,
          endMs: this.#clock.now(),
          preemptions: 0,
        },
        gpuSeconds: limit * (this.script.gpuSecondsPerToken ?? 0.01),
        replicaId: this.replica.id,
      };
    } finally {
      this.running--;
    }
  }

  snapshot(): ReplicaSnapshot {
    return { ready: this.ready, running: this.running, waiting: 0, kvCacheUsage: 0 };
  }

  async close(): Promise<void> {}
}
