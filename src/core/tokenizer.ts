import * as cl100k from "gpt-tokenizer/encoding/cl100k_base";
import { createCl100kBpe } from "./bpe.js";
import type { ChatMessage } from "./types.js";

/**
 * Token counting for prompts and completions. One encoding serves every model: cl100k_base (GPT-3.5/4's BPE).
 * Llama 3's tokenizer is a 128k-entry BPE whose first 100k merges come from cl100k (Meta, Llama 3 model card),
 * so counts on English text are close; the README states this approximation.
 *
 * Cost is bounded twice over, because a prompt of up to the body limit (1 MiB) is tokenized for every request:
 * - per pre-token: longer than 256 bytes, it is encoded in chunks (src/core/bpe.ts has the rule), so the cost
 *   is linear in the text, never quadratic;
 * - per event-loop turn: the async methods pause (setImmediate) after every `sliceMs` of work, so a long prompt
 *   (about 40 ms for 1 MiB of English, up to 0.6 s for 1 MiB of random letters) never holds the loop longer; the
 *   sync methods are for callers off the request path (the simulator's workloads, tests).
 * Both give the same tokens.
 */
export interface Tokenizer {
  readonly name: string;
  /** Token ids of plain text; special-token markers inside user text are encoded as ordinary text. */
  encode(text: string): number[];
  /**
   * Prompt tokens of a chat conversation, including the template's framing tokens. `contentTokens[i]`, when
   * given, is taken as the token ids of message i's content instead of encoding it (a caller that built the
   * text from known tokens, as the simulator's workloads do, vouches that they match).
   */
  encodeChat(
    messages: readonly ChatMessage[],
    contentTokens?: readonly (readonly number[] | undefined)[],
  ): ChatEncoding;
  /** `encode`, yielding the event loop between slices. */
  encodeAsync(text: string): Promise<number[]>;
  /** `encodeChat`, yielding the event loop between slices. */
  encodeChatAsync(
    messages: readonly ChatMessage[],
    contentTokens?: readonly (readonly number[] | undefined)[],
  ): Promise<ChatEncoding>;
}

export interface ChatEncoding {
  text: string;
  tokens: number[];
}

export interface TokenizerOptions {
  /** Work between two pauses of the async methods, in ms (default 5: a fraction of a 20 ms budget per turn). */
  sliceMs?: number;
  /** Monotonic milliseconds, for measuring a slice (default performance.now: CPU time spent, not clock time). */
  now?: () => number;
  /** How the async methods let other work run (default: setImmediate, after pending I/O). */
  pause?: () => Promise<void>;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Text to encode from which the async methods start on a new turn (about 5 ms of English). */
const PAUSE_FIRST_CHARS = 64 * 1024;

/**
 * cl100k_base with ChatML framing, the template OpenAI documents for cl100k chat models:
 * `<|im_start|>{role}\n{content}<|im_end|>\n` per message, then `<|im_start|>assistant\n` to prime the reply.
 */
export function createCl100kTokenizer(options: TokenizerOptions = {}): Tokenizer {
  const { sliceMs = 5, now = () => performance.now(), pause = nextTurn } = options;
  const bpe = createCl100kBpe();
  const imStart = cl100k.encode(cl100k.ImStart, { allowedSpecial: new Set([cl100k.ImStart]) });
  const imEnd = cl100k.encode(cl100k.ImEnd, { allowedSpecial: new Set([cl100k.ImEnd]) });
  const newline = cl100k.encode("\n");
  const never = () => false;
  const encode = (text: string) => {
    const out: number[] = [];
    bpe.encodeInto(text, out, never).next();
    return out;
  };
  // Message headers repeat ("user\n", "assistant\n"): encoded once each (bounded: named senders are not kept).
  const headers = new Map<string, number[]>();
  const header = (text: string, keep: boolean) => {
    let tokens = headers.get(text);
    if (tokens === undefined) {
      tokens = encode(text);
      if (keep) headers.set(text, tokens);
    }
    return tokens;
  };

  function* chatSteps(
    messages: readonly ChatMessage[],
    contentTokens: readonly (readonly number[] | undefined)[] | undefined,
    due: () => boolean,
  ): Generator<void, ChatEncoding, undefined> {
    // Each message's parts first, then one array of the exact length: a long prompt pushed token by token
    // would reallocate its array a dozen times on the way.
    const parts: (readonly number[])[] = [];
    let length = 0;
    let text = "";
    const add = (part: readonly number[]) => {
      parts.push(part);
      length += part.length;
    };
    for (let index = 0; index < messages.length; index++) {
      const message = messages[index] as ChatMessage;
      const named = message.name !== undefined && message.name !== "";
      const head = named ? `${message.role} name=${message.name}\n` : `${message.role}\n`;
      add(imStart);
      add(header(head, !named));
      let content = contentTokens?.[index];
      if (content === undefined) {
        const encoded: number[] = [];
        yield* bpe.encodeInto(message.content, encoded, due);
        content = encoded;
      }
      add(content);
      add(imEnd);
      add(newline);
      text += `${cl100k.ImStart}${head}${message.content}${cl100k.ImEnd}\n`;
    }
    add(imStart);
    add(header("assistant\n", true));
    text += `${cl100k.ImStart}assistant\n`;
    const tokens = new Array<number>(length);
    let at = 0;
    for (const part of parts) for (let i = 0; i < part.length; i++) tokens[at++] = part[i] as number;
    return { text, tokens };
  }

  /**
   * Runs a step generator to the end, pausing whenever it reports its slice used up. A long text (`chars`) is
   * started on a turn of its own: its caller has just spent one on the request's body (parsing, validation).
   */
  async function sliced<T>(
    chars: number,
    steps: (due: () => boolean) => Generator<void, T, undefined>,
  ): Promise<T> {
    if (chars >= PAUSE_FIRST_CHARS) await pause();
    let sliceStart = now();
    const running = steps(() => now() - sliceStart >= sliceMs);
    for (;;) {
      const step = running.next();
      if (step.done) return step.value;
      await pause();
      sliceStart = now();
    }
  }

  return {
    name: "cl100k_base",
    encode,
    encodeChat(messages, contentTokens) {
      const step = chatSteps(messages, contentTokens, never).next();
      if (!step.done) throw new Error("unreachable: a chat encoding that never pauses paused");
      return step.value;
    },
    encodeAsync: (text) =>
      sliced(text.length, function* (due) {
        const out: number[] = [];
        yield* bpe.encodeInto(text, out, due);
        return out;
      }),
    encodeChatAsync: (messages, contentTokens) => {
      let chars = 0;
      for (const [i, message] of messages.entries())
        if (contentTokens?.[i] === undefined) chars += message.content.length;
      return sliced(chars, (due) => chatSteps(messages, contentTokens, due));
    },
  };
}
