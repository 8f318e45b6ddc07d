import { Pool } from "undici";
import type { ClassTally } from "./class-tally.js";
import { DEFAULT_CONNECTIONS, DEFAULT_PATH } from "./http-sender.js";
import type { Sender } from "./sender.js";
import { parseRetryAfter, SloStreamReader } from "./slo-stream.js";

export interface ClassSenderOptions {
  /** Origin of the gateway, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** Default `/v1/chat/completions`. */
  path?: string;
  /** Keep-alive connections; default 64. Size it above the most requests in flight, or they queue here. */
  connections?: number;
  tally: ClassTally;
  /** The class of a request without an `x-tollgate-slo-class` header (the gateway's `defaultClass`). */
  defaultClass: string;
}

export interface ClassSender {
  send: Sender;
  /** 200 responses whose headers arrived (finished or not). */
  readonly streams: number;
  /** Of those, the ones without the `x-tollgate-slo-class` response header. */
  readonly streamsWithoutClassHeader: number;
  /** Closes every connection, aborting whatever is still in flight. */
  close(): Promise<void>;
}

/**
 * Sends streamed chat requests over an undici Pool (keep-alive, one request per connection at a time, like
 * http-sender.ts) and tallies each by its SLO class: status, TTFT from the send, the verdict on the final chunk,
 * and Retry-After of a 503 or 429. The class the gateway ran a request in is read from the verdict, which must
 * match the class asked for. Requests still in flight when the run's signal aborts are not recorded: the tally
 * counts them as unfinished.
 */
export function createClassSender(options: ClassSenderOptions): ClassSender {
  const { tally, defaultClass } = options;
  const path = options.path ?? DEFAULT_PATH;
  const pool = new Pool(new URL(options.baseUrl).origin, {
    connections: options.connections ?? DEFAULT_CONNECTIONS,
    pipelining: 1,
  });
  let streams = 0;
  let streamsWithoutClassHeader = 0;

  const send: Sender = async (request, onFirstByte, signal) => {
    const sloClass = request.sloClass ?? defaultClass;
    tally.sent(sloClass);
    const startedAt = performance.now();
    let ttftMs: number | undefined;
    const reader = new SloStreamReader({
      onFirstContent: () => {
        ttftMs = performance.now() - startedAt;
        onFirstByte();
      },
    });
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
      if (status !== 200) {
        await response.body.text();
        const retryAfterSeconds = parseRetryAfter(response.headers["retry-after"]);
        tally.record({ sloClass, status, ...(retryAfterSeconds !== undefined && { retryAfterSeconds }) });
        return { status, completionTokens: 0 };
      }
      streams++;
      if (response.headers["x-tollgate-slo-class"] === undefined) streamsWithoutClassHeader++;
      response.body.setEncoding("utf8");
      for await (const chunk of response.body) reader.push(chunk as string);
      const result = reader.finish(true);
      const ranAs = result.verdict?.sloClass;
      const error =
        result.error ??
        (ranAs === undefined ? "no SLO verdict on the final chunk" : undefined) ??
        (ranAs !== sloClass ? `asked for class ${sloClass}, ran as ${ranAs}` : undefined);
      tally.record({
        sloClass,
        status,
        ...(ttftMs !== undefined && { ttftMs }),
        ...(result.verdict !== undefined && { sloMet: result.verdict.met }),
        ...(error !== undefined && { error }),
      });
      return { status, completionTokens: result.completionTokens, ...(error !== undefined && { error }) };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (!signal?.aborted) tally.record({ sloClass, status, error: message });
      return { status, completionTokens: 0, error: message };
    }
  };

  return {
    send,
    get streams() {
      return streams;
    },
    get streamsWithoutClassHeader() {
      return streamsWithoutClassHeader;
    },
    close: () => pool.destroy(),
  };
}
