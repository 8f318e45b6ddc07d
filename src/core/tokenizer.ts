import * as cl100k from "gpt-tokenizer/encoding/cl100k_base";
import type { ChatMessage } from "./types.js";

/**
 * Token counting for prompts and completions. One encoding serves every model: cl100k_base (GPT-3.5/4's BPE).
 * Llama 3's tokenizer is a 128k-entry BPE whose first 100k merges come from cl100k (Meta, Llama 3 model card),
 * so counts on English text are close; the README states this approximation.
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
  ): { text: string; tokens: number[] };
}

/** Treat `<|endoftext|>` and friends in user text as plain characters, never as control tokens. */
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/**
 * cl100k_base with ChatML framing, the template OpenAI documents for cl100k chat models:
 * `<|im_start|>{role}\n{content}<|im_end|>\n` per message, then `<|im_start|>assistant\n` to prime the reply.
 */
export function createCl100kTokenizer(): Tokenizer {
  const imStart = cl100k.encode(cl100k.ImStart, { allowedSpecial: new Set([cl100k.ImStart]) });
  const imEnd = cl100k.encode(cl100k.ImEnd, { allowedSpecial: new Set([cl100k.ImEnd]) });
  const newline = cl100k.encode("\n");
  // Message headers repeat ("user\n", "assistant\n"): encoded once each (bounded: named senders are not kept).
  const headers = new Map<string, number[]>();
  const header = (text: string, keep: boolean) => {
    let tokens = headers.get(text);
    if (tokens === undefined) {
      tokens = cl100k.encode(text, PLAIN_TEXT);
      if (keep) headers.set(text, tokens);
    }
    return tokens;
  };
  return {
    name: "cl100k_base",
    encode: (text) => cl100k.encode(text, PLAIN_TEXT),
    encodeChat(messages, contentTokens) {
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
        add(contentTokens?.[index] ?? cl100k.encode(message.content, PLAIN_TEXT));
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
    },
  };
}
