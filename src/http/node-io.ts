import type { IncomingMessage, ServerResponse } from "node:http";
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

/**
 * Reads the body as UTF-8 text, refusing more than `limit` bytes (413) without buffering past the limit. A
 * body that stalls for longer than the app's bodyIdleTimeoutMs between two chunks is a 408; both errors close
 * the connection (app.ts), since the rest of the body is never read. The whole request's deadline is Node's
 * requestTimeout (server.ts).
 */
export async function readBodyText(c: Context<AppEnv>, limit: number): Promise<string> {
  const declared = requestHeader(c, "content-length");
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
  const incoming = c.env?.incoming;
  if (incoming === undefined) {
    const text = await c.req.text();
    if (Buffer.byteLength(text) > limit) throw tooLarge(limit);
    return text;
  }
  const chunks = await readChunks(incoming, limit, c.get("bodyIdleTimeoutMs") ?? 0);
  const size = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  return chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks, size).toString("utf8");
}

/**
 * The body's chunks. Listeners rather than `for await`: the idle timeout has to stop waiting for the next
 * chunk, which an async iterator allows only by destroying the request stream; a listener is simply
 * removed, and the 408 goes out on the intact socket. The idle timer and every listener are removed however
 * reading ends.
 */
function readChunks(incoming: IncomingMessage, limit: number, idleMs: number): Promise<Buffer[]> {
  if (incoming.readableEnded) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer =
      idleMs > 0
        ? setTimeout(
            () =>
              fail(
                new GatewayError(
                  "request_timeout",
                  `No part of the request body arrived for ${idleMs} ms; the connection is closed.`,
                ),
              ),
            idleMs,
          )
        : undefined;
    const cleanup = () => {
      clearTimeout(timer);
      incoming.off("data", onData);
      incoming.off("end", onEnd);
      incoming.off("error", fail);
      incoming.off("close", onClose);
    };
    function fail(error: unknown) {
      cleanup();
      // The rest of the body stays unread: the error response goes out with Connection: close.
      incoming.pause();
      reject(error);
    }
    function onData(chunk: Buffer) {
      size += chunk.length;
      if (size > limit) return fail(tooLarge(limit));
      chunks.push(chunk);
      timer?.refresh();
    }
    function onEnd() {
      cleanup();
      resolve(chunks);
    }
    function onClose() {
      if (!incoming.complete) fail(new Error("aborted: the client closed the connection mid-body"));
    }
    incoming.on("data", onData);
    incoming.once("end", onEnd);
    incoming.once("error", fail);
    incoming.once("close", onClose);
  });
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError("request_too_large", `The request body exceeds the limit of ${limit} bytes.`);
}

/** An AbortController that aborts when the client goes away before its response is complete. */
export function clientAbort(c: Context<AppEnv>): AbortController {
  const controller = new AbortController();
  const outgoing = c.env?.outgoing;
  if (outgoing !== undefined) {
    // The client may already have gone (while the prompt was tokenized): 'close' would never come again.
    if (outgoing.destroyed) controller.abort(new Error("client disconnected"));
    else
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

/** Where a request stood when its client left: bounded values for tollgate_client_cancellations_total. */
export type CancelStage = "reading_body" | "before_response" | "streaming";

/**
 * The stage at which the client closed the connection before its response was complete, or undefined when
 * it did not (still there, served in full, or closed by the server for a timeout).
 */
export function clientLeft(c: Context<AppEnv>): CancelStage | undefined {
  const outgoing = c.env?.outgoing;
  if (outgoing === undefined) return c.req.raw.signal.aborted ? "before_response" : undefined;
  if (!outgoing.destroyed || outgoing.writableEnded || c.env?.connection?.timedOut) return undefined;
  if (outgoing.headersSent) return "streaming";
  return c.env?.incoming?.complete ? "before_response" : "reading_body";
}

/** True when the server closed the request's connection because the request did not arrive in time. */
export function closedForTimeout(c: Context<AppEnv>): boolean {
  return c.env?.connection?.timedOut === true;
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
