import { stringify } from "safe-stable-stringify";
import { z } from "zod";
import { GatewayError } from "../core/errors.js";
import type { ChatMessage } from "../core/types.js";

/**
 * Request bodies of the OpenAI API, as zod schemas. Fields Tollgate does not act on (logit_bias, tools, ...)
 * are accepted and ignored, as OpenAI-compatible servers such as vLLM do, so SDK calls that set them still work.
 */

const textPart = z.object({ type: z.literal("text"), text: z.string() }).loose();

const content = z.union([z.string(), z.array(textPart).min(1)]);

const message = z
  .object({
    role: z.enum(["system", "developer", "user", "assistant", "tool"]),
    // Assistant messages that only carry tool_calls have null content.
    content: content.nullable().optional(),
    name: z.string().max(256).optional(),
  })
  .loose();

const stop = z
  .union([z.string().min(1), z.array(z.string().min(1)).max(4)])
  .nullable()
  .optional();

const tokenLimit = z.number().int().positive().nullable().optional();

const samplingFields = {
  model: z.string().min(1, "must not be empty"),
  max_tokens: tokenLimit,
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().gt(0).max(1).nullable().optional(),
  n: z.number().int().positive().nullable().optional(),
  stop,
  seed: z.number().int().nullable().optional(),
  user: z.string().max(512).optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullable().optional(),
};

/**
 * OpenAI's own limit on a conversation's length (its 400 reads "Invalid 'messages': array too long. Expected an
 * array with maximum length 2048"). It also bounds the per-message work of every later step: at the 1 MiB body
 * limit, 60,000 empty messages cost 180 ms in the cache key alone.
 */
export const MAX_MESSAGES = 2048;

export const chatCompletionRequestSchema = z
  .object({
    ...samplingFields,
    messages: z
      .array(message)
      .min(1, "must contain at least one message")
      .max(MAX_MESSAGES, {
        error: (issue) =>
          `array too long. Expected an array with maximum length ${MAX_MESSAGES}, but got an array with length ${(issue.input as unknown[]).length} instead`,
      }),
    max_completion_tokens: tokenLimit,
  })
  .loose();

export const completionRequestSchema = z
  .object({
    ...samplingFields,
    prompt: z.union([z.string(), z.array(z.string()).min(1, "must contain at least one prompt").max(32)]),
    echo: z.boolean().nullable().optional(),
    suffix: z.string().nullable().optional(),
  })
  .loose();

export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;
export type CompletionRequest = z.infer<typeof completionRequestSchema>;

/** Sampling parameters common to both endpoints, normalised. */
export interface SamplingParams {
  model: string;
  /** Requested completion-token limit, or undefined for "up to the context". */
  maxTokens: number | undefined;
  temperature: number;
  topP: number;
  stop: string[];
  seed: number | undefined;
  stream: boolean;
  includeUsage: boolean;
}

/** Validates a parsed JSON body against a schema; the first issue becomes a 400 naming the field. */
export function validateBody<T>(schema: z.ZodType<T>, body: unknown): T {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new GatewayError("invalid_request", "The request body must be a JSON object.");
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const param = formatPath(issue.path);
  const missing = issue.code === "invalid_type" && issue.message.includes("undefined");
  const message = missing
    ? `Missing required parameter: '${param}'.`
    : `Invalid value for '${param}': ${issue.message.replace(/^Invalid input: /, "")}.`;
  throw new GatewayError("invalid_request", message, { param });
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path)
    out += typeof key === "number" ? `[${key}]` : out === "" ? String(key) : `.${String(key)}`;
  return out || "body";
}

/** Normalises sampling fields; `maxCompletionTokens` is chat's newer name for max_tokens and wins over it. */
export function samplingParams(
  body: ChatCompletionRequest | CompletionRequest,
  maxCompletionTokens?: number | null,
): SamplingParams {
  if (body.n !== undefined && body.n !== null && body.n !== 1) {
    throw new GatewayError("unsupported_parameter", "Only n=1 is supported.", { param: "n" });
  }
  const stopValue = body.stop ?? [];
  return {
    model: body.model,
    maxTokens: maxCompletionTokens ?? body.max_tokens ?? undefined,
    temperature: body.temperature ?? 1,
    topP: body.top_p ?? 1,
    stop: typeof stopValue === "string" ? [stopValue] : [...stopValue],
    seed: body.seed ?? undefined,
    stream: body.stream ?? false,
    includeUsage: body.stream_options?.include_usage ?? false,
  };
}

/** Chat messages with content flattened to text (text parts joined), as the model sees them. */
export function chatMessages(body: ChatCompletionRequest): ChatMessage[] {
  return body.messages.map((m) => {
    const text =
      m.content === undefined || m.content === null
        ? ""
        : typeof m.content === "string"
          ? m.content
          : m.content.map((part) => part.text).join("");
    return m.name === undefined
      ? { role: m.role, content: text }
      : { role: m.role, content: text, name: m.name };
  });
}

/**
 * Body fields that cannot change the answer: who asked, how it is delivered, and fields the gateway has already
 * normalised into the request (model, messages or prompt, sampling). Everything else a client sends (tools,
 * response_format, penalties, logprobs, fields of later API versions) may change the answer.
 */
const NOT_IN_ANSWER = new Set([
  "model",
  "messages",
  "prompt",
  "max_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "n",
  "stop",
  "seed",
  "stream",
  "stream_options",
  "user",
  "metadata",
  "store",
  "service_tier",
  "prompt_cache_key",
  "safety_identifier",
]);
const MESSAGE_NORMALISED = new Set(["role", "content", "name"]);

/**
 * Canonical JSON of everything in the body that may change the answer beyond the normalised request (with
 * message fields such as tool_calls or tool_call_id), or undefined when there is nothing: part of the cache key,
 * so requests that differ in it never share an answer.
 */
export function answerVariant(body: Readonly<Record<string, unknown>>): string | undefined {
  const extra: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(body)) {
    if (!NOT_IN_ANSWER.has(name) && value !== undefined && value !== null) extra[name] = value;
  }
  const messages = body["messages"];
  if (Array.isArray(messages)) {
    const fields = messages.map((m: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(m).filter(([name]) => !MESSAGE_NORMALISED.has(name))),
    );
    if (fields.some((f) => Object.keys(f).length > 0)) extra["messages"] = fields;
  }
  return Object.keys(extra).length === 0 ? undefined : stringify(extra);
}
