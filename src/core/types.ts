/**
 * Shared types of the serving core: what a generation request is, and the events a generation yields.
 * A generation is an AsyncIterable<GenerationEvent>: zero or more `token` events, then exactly one `done`
 * (or the iterator throws a GatewayError). Non-streaming responses collect the events; the cache replays them.
 */

export type FinishReason = "stop" | "length";

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens whose KV was found in the replica's prefix cache (OpenAI: prompt_tokens_details.cached_tokens). */
  cachedPromptTokens: number;
}

export interface GenerationTimings {
  /** Clock time the request reached the backend. */
  arrivalMs: number;
  /** Clock time the engine first scheduled it (end of queueing). */
  scheduledMs: number;
  firstTokenMs: number;
  endMs: number;
  /** Times the engine preempted this sequence (its KV was dropped and recomputed). */
  preemptions: number;
}

export interface TokenEvent {
  type: "token";
  /** Text delta; may be empty when the text is held back (a partial stop sequence). */
  text: string;
  /** Tokens this event stands for (usually 1). */
  tokens: number;
  /** Clock time the token(s) became available. */
  atMs: number;
}

export interface DoneEvent {
  type: "done";
  finishReason: FinishReason;
  usage: Usage;
  timings: GenerationTimings;
  /** Accelerator-seconds spent on this sequence: its share of every step it took part in x GPUs per replica. */
  gpuSeconds: number;
  /** The replica that served it. */
  replicaId: string;
}

export type GenerationEvent = TokenEvent | DoneEvent;

export type RequestKind = "chat" | "completion";

export interface ChatMessage {
  role: "system" | "developer" | "user" | "assistant" | "tool";
  content: string;
  name?: string;
}

export interface GenerationRequest {
  /** Gateway request id (also sent back as x-request-id). */
  id: string;
  /** The model id the backend serves (after alias resolution). */
  model: string;
  kind: RequestKind;
  /** Chat requests: the messages as received (content flattened to text). */
  messages?: readonly ChatMessage[];
  /** The prompt as the model sees it (chat template applied for chat requests). */
  promptText: string;
  /** Token ids of promptText, from the gateway's tokenizer. */
  promptTokens: readonly number[];
  /** Upper bound on completion tokens. */
  maxTokens: number;
  /** The limit the client asked for; absent when it left it to the context (then maxTokens is what is left). */
  requestedMaxTokens?: number;
  stop: readonly string[];
  temperature: number;
  topP: number;
  seed?: number;
  /**
   * Canonical JSON of the other body fields that may change the answer (tools, response_format, penalties, ...),
   * part of the cache key; absent when the client sent none.
   */
  variant?: string;
  /** The SLO class it runs in (scheduling); absent: the configured default. */
  sloClass?: string;
  /** Who sent it (a tenant, API key or client address; for fair shares). Absent: anonymous. */
  tenant?: string;
  /** The client's tier, for cost and revenue by tier; absent without the guard ("none"). */
  tier?: string;
  /**
   * Offline simulation only: nobody reads the stream, so a simulated backend delivers the first token and then
   * the rest as one event just before `done` (same text, token counts and timings; far fewer async hops).
   */
  coalesceTokens?: boolean;
  /** Clock time the gateway received the request. */
  arrivalMs: number;
}

/** Where a generation ran: sent back in headers and the response's `model`. */
export interface ServedBy {
  model: string;
  deployment: string;
  replicaId: string;
}

/**
 * The `done` event as the gateway reports it: the backend's, plus where it ran and what it cost. Defined here,
 * below every stage, because the stages that pass answers along (the cache, the scheduler) carry it too.
 */
export interface ServedDoneEvent extends DoneEvent {
  servedBy: ServedBy;
  deployment: string;
  costUsd: number;
  /** Set when the answer came from the cache stage rather than a generation of this request. */
  cache?: { kind: "exact" | "semantic" | "coalesced"; ageSeconds: number };
  /** Set by the pipeline: how the response did against its SLO class. */
  slo?: { class: string; ttft: boolean; tpot: boolean; e2e: boolean; met: boolean };
}

/** The first token of a generation carries `servedBy` (which model and replica answer), for headers. */
export type GatewayEvent = (TokenEvent & { servedBy?: ServedBy }) | ServedDoneEvent;
