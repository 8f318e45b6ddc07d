import type { FinishReason, GenerationRequest, Usage } from "../../core/types.js";
import type { SseEvent } from "./sse-parser.js";
import { interpretChunk, type UpstreamErrorInfo, type UpstreamUsage } from "./wire.js";

/** Why reading the stream must stop with an error; turned into a GatewayError by the caller. */
export type StreamProblem =
  | { kind: "upstream-error"; error: UpstreamErrorInfo | undefined; raw: string }
  | { kind: "malformed"; raw: string };

/**
 * What an upstream stream has said so far: its content deltas (handed back one at a time), the finish reason,
 * the usage chunk, and whether `data: [DONE]` arrived. Pure bookkeeping with no I/O or time, so the
 * generation loop stays about sockets and deadlines.
 */
export class StreamState {
  readonly #kind: GenerationRequest["kind"];
  #finishReason: string | undefined;
  #usage: UpstreamUsage | undefined;
  #done = false;
  /** Content deltas seen: the completion-token count when the upstream sends no usage. */
  #deltas = 0;

  constructor(kind: GenerationRequest["kind"]) {
    this.#kind = kind;
  }

  /** True once `data: [DONE]` arrived; later events are ignored. */
  get done(): boolean {
    return this.#done;
  }

  /** True when the stream may end here without losing the answer (some servers omit `[DONE]`). */
  get complete(): boolean {
    return this.#done || this.#finishReason !== undefined;
  }

  get deltas(): number {
    return this.#deltas;
  }

  /** Reads one event: the text delta it carries ("" for none), or the problem that ends the stream. */
  accept(event: SseEvent): { text: string } | { problem: StreamProblem } {
    if (this.#done) return { text: "" };
    if (event.data === "[DONE]") {
      this.#done = true;
      return { text: "" };
    }
    let payload: unknown;
    try {
      payload = JSON.parse(event.data);
    } catch {
      return { problem: { kind: "malformed", raw: event.data } };
    }
    const info = interpretChunk(payload, this.#kind);
    if (event.event === "error" || info?.kind === "error") {
      return {
        problem: {
          kind: "upstream-error",
          error: info?.kind === "error" ? info.error : undefined,
          raw: event.data,
        },
      };
    }
    if (info === undefined) return { problem: { kind: "malformed", raw: event.data } };
    if (info.finishReason !== undefined) this.#finishReason = info.finishReason;
    if (info.usage !== undefined) this.#usage = info.usage;
    if (info.text !== "") this.#deltas++;
    return { text: info.text };
  }

  /**
   * OpenAI's `length` is kept; everything else (`stop`, `eos`, `content_filter`, `tool_calls`, none) means the
   * model stopped by itself.
   */
  finishReason(): FinishReason {
    return this.#finishReason === "length" ? "length" : "stop";
  }

  /**
   * The usage to report. The upstream's counts win when present; a stream without them is counted here (one
   * token per content delta; the prompt by the gateway's own tokenizer). Completion tokens are never fewer than
   * the deltas already yielded as one token each, so the events and the usage agree.
   */
  usage(request: GenerationRequest): Usage {
    const upstream = this.#usage;
    if (upstream === undefined) {
      return {
        promptTokens: request.promptTokens.length,
        completionTokens: this.#deltas,
        cachedPromptTokens: 0,
      };
    }
    return {
      promptTokens: upstream.promptTokens,
      completionTokens: Math.max(upstream.completionTokens, this.#deltas),
      cachedPromptTokens: upstream.cachedPromptTokens,
    };
  }
}
