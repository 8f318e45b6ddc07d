import type { GatewayError } from "../../core/errors.js";
import type { DoneEvent, FinishReason, GenerationRequest, TokenEvent } from "../../core/types.js";
import type { CompletionWriter } from "./completion.js";
import { type BlockHash, type BlockTable, chainBlockHash, emptyBlockTable } from "./kv-cache.js";

/** Where a sequence's events go (the backend wires these to the request's channel). */
export interface SequenceSink {
  token(event: TokenEvent): void;
  done(event: DoneEvent): void;
  fail(error: GatewayError): void;
}

export type SequenceState = "waiting" | "running" | "finished";

/**
 * One request inside the engine, in vLLM V1's unified view: a token list (prompt, then sampled tokens) and
 * how many of them have KV computed. A step computes some of the rest; when none is left, it samples the
 * next token. A fresh request "prefills" its prompt; a preempted one re-prefills prompt + sampled tokens.
 */
export class Sequence {
  readonly request: GenerationRequest;
  readonly sink: SequenceSink;
  readonly writer: CompletionWriter;
  readonly arrivalMs: number;
  /** Fault injection: fail with backend_error at the end of the first step this sequence is in. */
  readonly failsAtFirstStep: boolean;
  readonly promptLength: number;
  /** Tokens sampled so far (the context is the request's prompt tokens, then these; the prompt is not copied). */
  readonly #sampled: number[] = [];
  readonly table: BlockTable = emptyBlockTable();
  state: SequenceState = "waiting";
  numComputed = 0;
  scheduledMs: number | undefined;
  firstTokenMs: number | undefined;
  preemptions = 0;
  cachedPromptTokens = 0;
  /** GPU-milliseconds attributed so far (already multiplied by the tensor-parallel degree). */
  gpuMs = 0;
  readonly #blockHashes: BlockHash[] = [];

  constructor(init: {
    request: GenerationRequest;
    sink: SequenceSink;
    writer: CompletionWriter;
    arrivalMs: number;
    failsAtFirstStep: boolean;
  }) {
    this.request = init.request;
    this.sink = init.sink;
    this.writer = init.writer;
    this.arrivalMs = init.arrivalMs;
    this.failsAtFirstStep = init.failsAtFirstStep;
    this.promptLength = init.request.promptTokens.length;
  }

  /** Length of the context: prompt plus sampled tokens. */
  get length(): number {
    return this.promptLength + this.#sampled.length;
  }

  /** Appends a sampled token to the context. */
  append(token: number): void {
    this.#sampled.push(token);
  }

  /** Tokens whose KV is still to be computed before the next sample. */
  get remaining(): number {
    return this.length - this.numComputed;
  }

  /** In the decode phase: it has sampled before and only its last token lacks KV. */
  get decoding(): boolean {
    return this.writer.sampled > 0 && this.remaining === 1;
  }

  /** Chained prefix-cache hashes of the first `count` full blocks (computed once, tokens never change). */
  blockHashes(count: number, blockSize: number): readonly BlockHash[] {
    this.#hashUpTo(count, blockSize);
    return this.#blockHashes.length === count ? this.#blockHashes : this.#blockHashes.slice(0, count);
  }

  blockHash(index: number, blockSize: number): BlockHash {
    this.#hashUpTo(index + 1, blockSize);
    return this.#blockHashes[index] as BlockHash;
  }

  #hashUpTo(count: number, blockSize: number): void {
    for (let i = this.#blockHashes.length; i < count; i++)
      this.#blockHashes.push(this.#hashBlock(i, blockSize));
  }

  /** The `done` event of a completed sequence. */
  doneEvent(end: { finishReason: FinishReason; nowMs: number; replicaId: string }): DoneEvent {
    return {
      type: "done",
      finishReason: end.finishReason,
      usage: {
        promptTokens: this.promptLength,
        completionTokens: this.writer.sampled,
        cachedPromptTokens: this.cachedPromptTokens,
      },
      timings: {
        arrivalMs: this.arrivalMs,
        scheduledMs: this.scheduledMs ?? end.nowMs,
        firstTokenMs: this.firstTokenMs ?? end.nowMs,
        endMs: end.nowMs,
        preemptions: this.preemptions,
      },
      gpuSeconds: this.gpuMs / 1000,
      replicaId: end.replicaId,
    };
  }

  #hashBlock(index: number, blockSize: number): BlockHash {
    const to = (index + 1) * blockSize;
    if (to > this.length) throw new Error(`Sequence: block ${index} is not full`);
    const from = index * blockSize;
    const parent = this.#blockHashes[index - 1];
    const prompt = this.request.promptTokens;
    if (to <= this.promptLength) return chainBlockHash(parent, prompt, from, to);
    if (from >= this.promptLength)
      return chainBlockHash(parent, this.#sampled, from - this.promptLength, to - this.promptLength);
    // The block where the prompt ends and the sampled tokens begin.
    const straddling = prompt.slice(from).concat(this.#sampled.slice(0, to - this.promptLength));
    return chainBlockHash(parent, straddling, 0, straddling.length);
  }
}
