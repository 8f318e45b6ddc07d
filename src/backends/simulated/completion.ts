import { SeededRandom } from "../../core/random.js";
import type { FinishReason, GenerationRequest } from "../../core/types.js";
import { sampleOutputLength, TextGenerator, textSeed } from "./text.js";
import type { OutputSettings } from "./types.js";

/**
 * Stop-sequence handling as OpenAI-compatible servers do it: the completion ends when its text would contain a
 * stop string, the stop string is not returned, and text that might be the start of a stop string is held back
 * until it is known not to be (so a client never sees half of a stop sequence).
 */
export class StopMatcher {
  readonly #stops: readonly string[];
  #held = "";

  constructor(stops: readonly string[]) {
    this.#stops = stops.filter((stop) => stop.length > 0);
  }

  /** Whether any stop string can end the completion. */
  get active(): boolean {
    return this.#stops.length > 0;
  }

  /** Adds a piece; returns the text safe to emit now and whether a stop string was reached. */
  push(piece: string): { emit: string; stopped: boolean } {
    const buffer = this.#held + piece;
    let cut = -1;
    for (const stop of this.#stops) {
      const at = buffer.indexOf(stop);
      if (at !== -1 && (cut === -1 || at < cut)) cut = at;
    }
    if (cut !== -1) {
      this.#held = "";
      return { emit: buffer.slice(0, cut), stopped: true };
    }
    const keep = this.#partialSuffix(buffer);
    this.#held = buffer.slice(buffer.length - keep);
    return { emit: buffer.slice(0, buffer.length - keep), stopped: false };
  }

  /** Releases held text at the end of a completion that did not stop on a stop string. */
  flush(): string {
    const held = this.#held;
    this.#held = "";
    return held;
  }

  /** Length of the longest suffix of `buffer` that is a proper prefix of some stop string. */
  #partialSuffix(buffer: string): number {
    let best = 0;
    for (const stop of this.#stops) {
      for (let n = Math.min(stop.length - 1, buffer.length); n > best; n--) {
        if (buffer.endsWith(stop.slice(0, n))) {
          best = n;
          break;
        }
      }
    }
    return best;
  }
}

export interface CompletionStep {
  /** Token id of the sampled token (it joins the sequence's context). */
  id: number;
  /** Text to emit now: may be empty while held back. */
  text: string;
  /** Set on the last token of the completion. */
  finish?: FinishReason;
}

/**
 * Everything a sequence samples: the natural length is drawn first from the request's text stream, then the
 * tokens. The completion stops at a stop string ("stop"), at its natural length ("stop", the model's EOS), or
 * at maxTokens ("length") when the natural length reaches it. Completion tokens count every sampled token,
 * including the one that completed a stop string, as OpenAI counts them.
 */
export class CompletionWriter {
  readonly naturalLength: number;
  readonly #maxTokens: number;
  readonly #text: TextGenerator;
  readonly #stop: StopMatcher;
  #sampled = 0;

  constructor(
    request: Pick<GenerationRequest, "promptText" | "seed" | "temperature" | "id" | "maxTokens" | "stop">,
    output: OutputSettings,
  ) {
    const random = new SeededRandom(textSeed(request));
    this.naturalLength = sampleOutputLength(random, output);
    this.#maxTokens = request.maxTokens;
    this.#text = new TextGenerator(random);
    this.#stop = new StopMatcher(request.stop);
  }

  get sampled(): number {
    return this.#sampled;
  }

  /**
   * Tokens still to sample, counting the one that finishes; undefined when a stop string could end the
   * completion sooner (only the text can tell).
   */
  tokensLeft(): number | undefined {
    if (this.#stop.active) return undefined;
    return Math.max(1, Math.min(this.#maxTokens, this.naturalLength) - this.#sampled);
  }

  next(): CompletionStep {
    const piece = this.#text.next();
    this.#sampled++;
    const { emit, stopped } = this.#stop.push(piece.text);
    if (stopped) return { id: piece.id, text: emit, finish: "stop" };
    if (this.#sampled >= this.#maxTokens)
      return { id: piece.id, text: emit + this.#stop.flush(), finish: "length" };
    if (this.#sampled >= this.naturalLength)
      return { id: piece.id, text: emit + this.#stop.flush(), finish: "stop" };
    return { id: piece.id, text: emit };
  }
}
