import type { GenerationRequest } from "../../core/types.js";

/**
 * The OpenAI wire format as the backend speaks it upstream: the request body it sends, and what it reads out of
 * each streamed chunk. Chunks are narrowed from `unknown` field by field (no schema library on the per-token
 * path); anything not understood is ignored, as OpenAI's own SDKs do, so new upstream fields never break it.
 */

export type UpstreamEndpoint = "/v1/chat/completions" | "/v1/completions";

export interface UpstreamCall {
  endpoint: UpstreamEndpoint;
  body: string;
}

/**
 * The upstream request. Always streamed with a usage chunk, whether or not the gateway's client streams: tokens
 * pass through as they arrive, and the final usage gives exact token counts for accounting.
 */
export function upstreamCall(request: GenerationRequest, model: string): UpstreamCall {
  const sampling = {
    model,
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: request.maxTokens,
    temperature: request.temperature,
    top_p: request.topP,
    ...(request.stop.length > 0 && { stop: request.stop }),
    ...(request.seed !== undefined && { seed: request.seed }),
  };
  if (request.kind === "completion") {
    return { endpoint: "/v1/completions", body: JSON.stringify({ ...sampling, prompt: request.promptText }) };
  }
  if (request.messages === undefined) {
    // The gateway always attaches the messages of a chat request; promptText has a template applied and
    // cannot stand in for them.
    throw new Error(`chat request ${request.id} has no messages`);
  }
  const messages = request.messages.map((m) => ({
    role: m.role,
    content: m.content,
    ...(m.name !== undefined && { name: m.name }),
  }));
  return { endpoint: "/v1/chat/completions", body: JSON.stringify({ ...sampling, messages }) };
}

export interface UpstreamUsage {
  promptTokens: number;
  completionTokens: number;
  cachedPromptTokens: number;
}

export interface UpstreamErrorInfo {
  message: string;
  /** OpenAI's `code` (vLLM sends the HTTP status here as a number). */
  code: string | undefined;
  param: string | undefined;
}

/** What one `data:` payload of the stream says. */
export type ChunkInfo =
  | { kind: "error"; error: UpstreamErrorInfo }
  | { kind: "chunk"; text: string; finishReason: string | undefined; usage: UpstreamUsage | undefined };

type Json = Record<string, unknown>;

function asObject(value: unknown): Json | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

function asCount(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : undefined;
}

function asString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/**
 * An OpenAI error object, from either shape seen in the wild: `{"error":{"message",...}}` (OpenAI, Tollgate) or
 * a bare `{"object":"error","message",...}` (older vLLM).
 */
export function errorInfoOf(value: unknown): UpstreamErrorInfo | undefined {
  const outer = asObject(value);
  if (outer === undefined) return undefined;
  const inner = asObject(outer.error) ?? (outer.object === "error" ? outer : undefined);
  if (inner === undefined) {
    // Some servers (text-generation-inference) send `{"error":"message"}`.
    const message = asString(outer.error);
    return message === undefined ? undefined : { message, code: undefined, param: undefined };
  }
  const message = asString(inner.message);
  if (message === undefined) return undefined;
  const code = inner.code;
  return {
    message,
    code: typeof code === "string" || typeof code === "number" ? String(code) : undefined,
    param: asString(inner.param),
  };
}

/**
 * Reads one chunk (already JSON-parsed). The text delta is `choices[0].delta.content` for chat and
 * `choices[0].text` for completions; the usage chunk has empty `choices` and the totals.
 */
export function interpretChunk(payload: unknown, kind: GenerationRequest["kind"]): ChunkInfo | undefined {
  const chunk = asObject(payload);
  if (chunk === undefined) return undefined;
  const error = errorInfoOf(chunk);
  if (error !== undefined) return { kind: "error", error };
  const choice = Array.isArray(chunk.choices) ? asObject(chunk.choices[0]) : undefined;
  const text = (kind === "chat" ? asString(asObject(choice?.delta)?.content) : asString(choice?.text)) ?? "";
  return {
    kind: "chunk",
    text,
    finishReason: asString(choice?.finish_reason),
    usage: usageOf(chunk.usage),
  };
}

function usageOf(value: unknown): UpstreamUsage | undefined {
  const usage = asObject(value);
  if (usage === undefined) return undefined;
  const promptTokens = asCount(usage.prompt_tokens);
  const completionTokens = asCount(usage.completion_tokens);
  if (promptTokens === undefined || completionTokens === undefined) return undefined;
  const cached = asCount(asObject(usage.prompt_tokens_details)?.cached_tokens) ?? 0;
  return { promptTokens, completionTokens, cachedPromptTokens: Math.min(cached, promptTokens) };
}
