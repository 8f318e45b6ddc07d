import { type Dispatcher, Pool } from "undici";
import { CompletionBodyReader } from "./completion-body.js";
import type { Sender } from "./sender.js";
import type { WorkloadRequest } from "./workload.js";

export interface HttpSenderOptions {
  /** Origin of the server, e.g. `http://127.0.0.1:8080`; a path in it is ignored. */
  baseUrl: string;
  /** Default `/v1/chat/completions`. */
  path?: string;
  /** Keep-alive connections in the pool; default 64. Requests beyond them wait in undici's queue. */
  connections?: number;
}

/** What {@link HttpSender.sendWithHeaders} resolves with: a {@link Sender}'s outcome and the response headers. */
export type HttpOutcome = Awaited<ReturnType<Sender>> & {
  /** Set when the body was read to the end; absent when the request failed (no response, or a cut-off body). */
  headers?: Dispatcher.ResponseData["headers"];
  /** The body of a non-2xx response read to the end (its first {@link MAX_ERROR_BODY_CHARS} characters). */
  errorBody?: string;
};

export interface HttpSender {
  send: Sender;
  /** As `send`, also resolving with the response headers (for callers that read e.g. `x-cache`). */
  sendWithHeaders(
    request: WorkloadRequest,
    onFirstByte: () => void,
    signal?: AbortSignal,
  ): Promise<HttpOutcome>;
  /** Closes every connection, aborting whatever is still in flight. */
  close(): Promise<void>;
}

export const DEFAULT_PATH = "/v1/chat/completions";
export const DEFAULT_CONNECTIONS = 64;
/** An error body longer than this is cut: OpenAI error objects (a challenge's puzzle included) are < 1 KiB. */
export const MAX_ERROR_BODY_CHARS = 16_384;

/**
 * POSTs workload requests over an undici `Pool` (keep-alive, no pipelining: one request per connection at a
 * time, as browsers and the OpenAI SDK do), reads each body to the end and counts its completion tokens.
 * Transport failures resolve with `status: 0` and an `error`, so one bad request never stops a run.
 * `onFirstByte` fires only for 2xx responses: an error answer (a 403 challenge, a 429) has no first token, and
 * a client that retries after it (challenge-solver.ts) must not have its TTFT stopped by it.
 */
export function createHttpSender(options: HttpSenderOptions): HttpSender {
  const connections = options.connections ?? DEFAULT_CONNECTIONS;
  if (!(Number.isInteger(connections) && connections >= 1)) {
    throw new RangeError(`connections must be an integer >= 1, got ${connections}`);
  }
  const path = options.path ?? DEFAULT_PATH;
  const pool = new Pool(new URL(options.baseUrl).origin, { connections, pipelining: 1 });

  const sendWithHeaders: HttpSender["sendWithHeaders"] = async (request, onFirstByte, signal) => {
    let status = 0;
    try {
      const response = await pool.request({
        path,
        method: "POST",
        headers: request.headers,
        body: request.bodyText,
        signal: signal ?? null,
      });
      status = response.statusCode;
      const ok = status >= 200 && status < 300;
      const contentType = String(response.headers["content-type"] ?? "");
      const stream = contentType.includes("text/event-stream");
      if (!ok) {
        const text = await response.body.text();
        const errorBody = text.slice(0, MAX_ERROR_BODY_CHARS);
        return { status, completionTokens: 0, headers: response.headers, errorBody };
      }
      // Streams: TTFT is the first event with generated text. JSON: the first byte of the body.
      const reader = new CompletionBodyReader(stream ? { stream, onFirstContent: onFirstByte } : { stream });
      response.body.setEncoding("utf8");
      let first = true;
      for await (const chunk of response.body) {
        if (first && !stream) onFirstByte();
        first = false;
        reader.push(chunk as string);
      }
      return { status, ...reader.finish(true), headers: response.headers };
    } catch (error) {
      return { status, completionTokens: 0, error: error instanceof Error ? error.message : String(error) };
    }
  };

  const send: Sender = async (request, onFirstByte, signal) => {
    const {
      headers: _headers,
      errorBody: _errorBody,
      ...outcome
    } = await sendWithHeaders(request, onFirstByte, signal);
    return outcome;
  };

  return { send, sendWithHeaders, close: () => pool.destroy() };
}
