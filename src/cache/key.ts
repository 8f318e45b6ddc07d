import { createHash } from "node:crypto";
import { stringify } from "safe-stable-stringify";
import type { GenerationRequest } from "../core/types.js";

/**
 * Cache keys. A key is the SHA-256 of the normalized request: everything that can change the answer (the model
 * after alias resolution, the endpoint, the messages or prompt, every sampling parameter, and any other body
 * field the client sent, such as tools or response_format) and nothing that cannot (the user, the request id,
 * stream options). Defaults are applied before hashing, so `temperature: 1` and no temperature share a key.
 */

/** Bumped when the normalized form changes, so old entries are never misread. */
const KEY_VERSION = 1;

type KeyedRequest = Pick<
  GenerationRequest,
  | "model"
  | "kind"
  | "messages"
  | "promptText"
  | "maxTokens"
  | "requestedMaxTokens"
  | "stop"
  | "temperature"
  | "topP"
  | "seed"
  | "variant"
>;

/** True when the same request gives the same answer: greedy decoding, or a fixed sampling seed. */
export function isDeterministic(request: Pick<GenerationRequest, "temperature" | "seed">): boolean {
  return request.temperature === 0 || request.seed !== undefined;
}

/** The exact-match key: hex SHA-256 of the normalized request. */
export function exactKey(request: KeyedRequest): string {
  return digest({ ...sampling(request), maxTokens: request.maxTokens, input: inputOf(request) });
}

/**
 * Splits a request for the semantic cache: `text` is what may be paraphrased (the last message of a chat, or
 * a completion's prompt) and `namespace` hashes everything else, which must match exactly (the model, the
 * sampling parameters, and a chat's earlier messages, system prompt included). A long shared system prompt
 * therefore cannot make two different questions look alike.
 */
export function semanticParts(request: KeyedRequest): { namespace: string; text: string } {
  const messages = request.messages;
  if (request.kind === "chat" && messages !== undefined && messages.length > 0) {
    const last = messages[messages.length - 1]!;
    return {
      namespace: digest({
        ...sampling(request),
        semantic: true,
        context: messages.slice(0, -1).map(normalizedMessage),
        role: last.role,
        name: last.name ?? null,
      }),
      text: last.content,
    };
  }
  return { namespace: digest({ ...sampling(request), semantic: true }), text: request.promptText };
}

function sampling(request: KeyedRequest) {
  return {
    v: KEY_VERSION,
    model: request.model,
    kind: request.kind,
    // What the client asked for: the derived limit (the rest of the context) varies with the prompt's length.
    requestedMaxTokens: request.requestedMaxTokens ?? null,
    stop: request.stop,
    temperature: request.temperature,
    topP: request.topP,
    seed: request.seed ?? null,
    variant: request.variant ?? null,
  };
}

function inputOf(request: KeyedRequest): unknown {
  if (request.kind === "chat" && request.messages !== undefined)
    return request.messages.map(normalizedMessage);
  return request.promptText;
}

function normalizedMessage(message: NonNullable<GenerationRequest["messages"]>[number]) {
  return [message.role, message.content, message.name ?? null];
}

function digest(value: unknown): string {
  return createHash("sha256")
    .update(stringify(value) ?? "")
    .digest("hex");
}
