export { createOpenAiHttpBackend, OpenAiHttpBackend } from "./openai-http-backend.js";
export type { OpenAiHttpBackendOptions, OpenAiHttpHealthOptions, OpenAiHttpTimeouts } from "./options.js";
export { type SseEvent, SseParser } from "./sse-parser.js";
export { errorCode, parseRetryAfter, statusError, transportError } from "./upstream-errors.js";
export { interpretChunk, upstreamCall } from "./wire.js";
