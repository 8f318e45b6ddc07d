import type { FinishReason, Usage } from "../core/types.js";

/**
 * Builders for OpenAI response objects: chat.completion, chat.completion.chunk, text_completion, model lists.
 * Field names and shapes follow the OpenAI API reference so the official SDKs parse them unchanged.
 */

export interface ResponseMeta {
  id: string;
  /** Unix seconds. */
  created: number;
  model: string;
}

export interface WireUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  completion_tokens_details: { reasoning_tokens: number };
}

/** Identifies the serving stack in responses, as OpenAI's system_fingerprint does. */
export const SYSTEM_FINGERPRINT = "fp_tollgate";

export function wireUsage(usage: Usage): WireUsage {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedPromptTokens },
    completion_tokens_details: { reasoning_tokens: 0 },
  };
}

type ObjectType = "chat.completion" | "chat.completion.chunk" | "text_completion";

/** The fields every completion object and chunk starts with. */
function envelope<T extends ObjectType>(meta: ResponseMeta, object: T) {
  return {
    id: meta.id,
    object,
    created: meta.created,
    model: meta.model,
    system_fingerprint: SYSTEM_FINGERPRINT,
  };
}

export function chatCompletion(meta: ResponseMeta, text: string, finishReason: FinishReason, usage: Usage) {
  return {
    ...envelope(meta, "chat.completion"),
    choices: [
      {
        index: 0,
        message: { role: "assistant" as const, content: text, refusal: null },
        logprobs: null,
        finish_reason: finishReason,
      },
    ],
    usage: wireUsage(usage),
  };
}

export interface ChunkOptions {
  /** When the client asked for usage, every chunk carries `usage: null` and a last chunk carries the totals. */
  includeUsage: boolean;
}

export function chatChunk(
  meta: ResponseMeta,
  delta: { role?: "assistant"; content?: string },
  finishReason: FinishReason | null,
  options: ChunkOptions,
) {
  return {
    ...envelope(meta, "chat.completion.chunk"),
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(options.includeUsage ? { usage: null } : {}),
  };
}

export interface CompletionChoice {
  index: number;
  text: string;
  finishReason: FinishReason;
}

export function textCompletion(meta: ResponseMeta, choices: readonly CompletionChoice[], usage: Usage) {
  return {
    ...envelope(meta, "text_completion"),
    choices: choices.map((c) => ({
      index: c.index,
      text: c.text,
      logprobs: null,
      finish_reason: c.finishReason,
    })),
    usage: wireUsage(usage),
  };
}

export function completionChunk(
  meta: ResponseMeta,
  choice: { index: number; text: string; finishReason: FinishReason | null },
  options: ChunkOptions,
) {
  return {
    ...envelope(meta, "text_completion"),
    choices: [{ index: choice.index, text: choice.text, logprobs: null, finish_reason: choice.finishReason }],
    ...(options.includeUsage ? { usage: null } : {}),
  };
}

/** The last chunk of a stream whose client asked for usage: no choices, the totals. */
export function usageChunk(
  meta: ResponseMeta,
  object: "chat.completion.chunk" | "text_completion",
  usage: Usage,
) {
  return { ...envelope(meta, object), choices: [], usage: wireUsage(usage) };
}

export interface ModelCard {
  id: string;
  created: number;
  ownedBy: string;
  contextLength: number;
}

export function modelObject(card: ModelCard) {
  // max_model_len is vLLM's extension; OpenAI clients ignore unknown fields.
  return {
    id: card.id,
    object: "model" as const,
    created: card.created,
    owned_by: card.ownedBy,
    max_model_len: card.contextLength,
  };
}

export function modelList(cards: readonly ModelCard[]) {
  return { object: "list" as const, data: cards.map(modelObject) };
}

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    cachedPromptTokens: a.cachedPromptTokens + b.cachedPromptTokens,
  };
}
