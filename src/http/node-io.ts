import type { ServerResponse } from "node:http";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { Context } from "hono";
import { stream } from "hono/streaming";
import { GatewayError } from "../core/errors.js";
import type { AppEnv } from "./env.js";

/**
 * The request/response I/O of the hot path. Under @hono/node-server the handler gets the raw Node request and
 * response (`c.env.incoming`/`outgoing`); reading them directly avoids building a WHATWG Request, an
 * AbortController and web streams for every request (a CPU profile showed those at about 12% of the gateway's
 * time). Under `app.request()` (tests) there is no Node binding and the portable Web API path is used.
 */

/** A request header, read from the raw Node request when there is one (no WHATWG Headers object is built). */
export function requestHeader(c: Context<AppEnv>, name: string): string | undefined {
  const incoming = c.env?.incoming;
  if (incoming === undefined) return c.req.header(name);
  const value = incoming.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

/** Reads the body as UTF-8 text, refusing more than `limit` bytes (413) without buffering past the limit. */
export async function readBodyText(c: Context<AppEnv>, limit: number): Promise<string> {
  const declared = requestHeader(c, "content-length");
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
  const incoming = c.env?.incoming;
  if (incoming === undefined) {
    const text = await c.req.text();
    if (Buffer.byteLength(text) > limit) throw tooLarge(limit);
    return text;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of incoming as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks, size).toString("utf8");
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError("request_too_large", `The request body exceeds the limit of ${limit} bytes.`);
}

/** An AbortController that aborts when the client goes away before its response is complete. */
export function clientAbort(c: Context<AppEnv>): AbortController {
  const controller = new AbortController();
  const outgoing = c.env?.outgoing;
  if (outgoing !== undefined) {
    outgoing.once("close", () => {
      if (!outgoing.writableFinished) controller.abort(new Error("client disconnected"));
    });
    return controller;
  }
  const signal = c.req.raw.signal;
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
  return controller;
}

/** Where a streamed response's bytes go. `write` resolves when the client can take more (backpressure). */
export interface StreamSink {
  write(text: string): Promise<void>;
  /** True once the client has gone. */
  readonly closed: boolean;
}

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  "x-accel-buffering": "no",
} as const;

/**
 * Sends a 200 SSE response whose body `produce` writes. With a Node binding the headers and each write go
 * straight to the socket (no fixed delay before the first chunk, no web-stream copies); otherwise Hono's
 * stream helper is used.
 */
export async function respondWithStream(
  c: Context<AppEnv>,
  headers: Readonly<Record<string, string>>,
  produce: (sink: StreamSink) => Promise<void>,
): Promise<Response> {
  const outgoing = c.env?.outgoing;
  if (outgoing === undefined) {
    for (const [name, value] of Object.entries({ ...SSE_HEADERS, ...headers })) c.header(name, value);
    c.header("Transfer-Encoding", "chunked");
    return stream(c, async (out) => {
      await produce({
        write: (text) => out.write(text).then(() => undefined),
        get closed() {
          return out.aborted || out.closed;
        },
      });
    });
  }
  // Headers set earlier with c.header() (x-request-id, x-tollgate-slo-class, ...) go out too.
  const set: Record<string, string> = {};
  c.res.headers.forEach((value, name) => {
    set[name] = value;
  });
  delete set["content-type"];
  outgoing.writeHead(200, { ...set, ...SSE_HEADERS, ...headers });
  await produce(nodeSink(outgoing));
  if (!outgoing.destroyed) outgoing.end();
  return RESPONSE_ALREADY_SENT;
}

function nodeSink(outgoing: ServerResponse): StreamSink {
  return {
    write(text) {
      if (outgoing.destroyed) return Promise.resolve();
      if (outgoing.write(text)) return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => {
          outgoing.off("drain", done);
          outgoing.off("close", done);
          resolve();
        };
        outgoing.on("drain", done);
        outgoing.on("close", done);
      });
    },
    get closed() {
      return outgoing.destroyed;
    },
  };
}
