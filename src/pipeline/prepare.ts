import { GatewayError } from "../core/errors.js";
import type { Tokenizer } from "../core/tokenizer.js";
import type { GenerationRequest, RequestKind } from "../core/types.js";
import type { PrepareInput, ServedModelInfo } from "./gateway-types.js";

/**
 * A validated request into a GenerationRequest for `model`: tokenizes the prompt (chat template applied) and
 * checks prompt + max_tokens against the model's context window (400 context_length_exceeded, worded as
 * OpenAI words it). Without max_tokens, like vLLM, a completion may use the rest of the context.
 */
export async function prepareRequest(
  input: PrepareInput,
  model: ServedModelInfo,
  tokenizer: Tokenizer,
  nowMs: number,
): Promise<GenerationRequest> {
  // The async encoders pause between slices, so a long prompt never holds the event loop (see tokenizer.ts).
  const { text, tokens } =
    input.kind === "chat"
      ? await tokenizer.encodeChatAsync(input.messages, input.contentTokens)
      : { text: input.prompt, tokens: await tokenizer.encodeAsync(input.prompt) };
  const context = model.contextLength;
  const requested = input.sampling.maxTokens;
  const param = input.kind === "chat" ? "messages" : "prompt";
  if (tokens.length + (requested ?? 1) > context) {
    const completion = requested === undefined ? "" : `, ${requested} in the completion`;
    throw new GatewayError(
      "context_length_exceeded",
      `This model's maximum context length is ${context} tokens. However, you requested ${tokens.length + (requested ?? 0)} tokens (${tokens.length} in the ${param}${completion}). Please reduce the length of the ${param} or completion.`,
      { param: requested === undefined ? param : "max_tokens" },
    );
  }
  const base = {
    id: input.requestId,
    model: model.id,
    kind: input.kind as RequestKind,
    promptText: text,
    promptTokens: tokens,
    maxTokens: requested ?? context - tokens.length,
    stop: input.sampling.stop,
    temperature: input.sampling.temperature,
    topP: input.sampling.topP,
    arrivalMs: input.arrivalMs ?? nowMs,
  };
  const request: GenerationRequest = input.kind === "chat" ? { ...base, messages: input.messages } : base;
  if (input.sampling.seed !== undefined) request.seed = input.sampling.seed;
  if (input.variant !== undefined) request.variant = input.variant;
  if (requested !== undefined) request.requestedMaxTokens = requested;
  if (input.sloClass !== undefined) request.sloClass = input.sloClass;
  if (input.tenant !== undefined) request.tenant = input.tenant;
  if (input.tier !== undefined) request.tier = input.tier;
  return request;
}
