import { connect, type Socket } from "node:net";

/** A response read off a raw socket; `status` 0 when none could be read (`error` says why). */
export interface RawResponse {
  status: number;
  /** Header names lower-cased; a repeated header keeps its last value. */
  headers: Record<string, string>;
  body: Buffer;
  ms: number;
  error?: string;
}

/**
 * Sends the exact bytes of one HTTP/1.1 request on a new connection and reads one response: to the end its
 * Content-Length or chunked framing gives, or until the server closes. Nothing is validated or normalised on
 * the way out, which is the point: fetch and undici refuse or rewrite odd methods, paths, header bytes and
 * framing. A request that asks for `Connection: close` risks losing an answer the server sends before reading
 * the whole body (it closes with unread bytes, its kernel resets the connection); keep-alive, as SDKs use,
 * lets Node's server read and discard the rest.
 */
export function sendRaw(options: { port: number; bytes: Buffer; timeoutMs: number }): Promise<RawResponse> {
  const started = performance.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: string | undefined;
    let settled = false;
    const socket = connect({ port: options.port, host: "127.0.0.1" });
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const parsed = parseResponse(Buffer.concat(chunks));
      const ms = performance.now() - started;
      resolve(
        parsed === undefined
          ? { status: 0, headers: {}, body: Buffer.alloc(0), ms, error: error ?? "no response" }
          : { ...parsed, ms },
      );
    };
    const timer = setTimeout(() => {
      error = `no complete response within ${options.timeoutMs} ms`;
      chunks.length = 0;
      finish();
    }, options.timeoutMs);
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      if (isComplete(Buffer.concat(chunks), options.bytes)) finish();
    });
    // A server that answers before reading the whole body (413, 405) may close under our write; what it sent
    // before is still the answer.
    socket.on("error", (e) => {
      error = e.message;
      finish();
    });
    socket.on("close", finish);
    void writeRequest(socket, options.bytes, () => chunks.length > 0 || settled);
  });
}

/**
 * Writes the request in slices and stops once the server has started answering, as curl does: a server that
 * refuses a body early (413) closes the connection, and bytes still sent after that make its kernel reset it,
 * which can destroy the answer before it is read. Never half-closes: to Node's server that reads as a client
 * that went away.
 */
async function writeRequest(socket: Socket, bytes: Buffer, answered: () => boolean): Promise<void> {
  const SLICE = 64 * 1024;
  for (let at = 0; at < bytes.length && !answered(); at += SLICE) {
    if (!socket.write(bytes.subarray(at, at + SLICE))) {
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.off("drain", done);
          socket.off("close", done);
          socket.off("data", done);
          resolve();
        };
        socket.on("drain", done);
        socket.on("close", done);
        socket.on("data", done);
      });
    }
  }
}

/** True when `raw` holds a whole response: headers and the body its framing announces (none for HEAD). */
function isComplete(raw: Buffer, request: Buffer): boolean {
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) return false;
  const head = raw.subarray(0, end).toString("latin1").toLowerCase();
  if (request.subarray(0, 5).toString("latin1") === "HEAD ") return true;
  const length = /\r\ncontent-length: *(\d+)/.exec(head)?.[1];
  if (length !== undefined) return raw.length - end - 4 >= Number(length);
  if (/\r\ntransfer-encoding: *chunked/.test(head))
    return (
      raw.subarray(end + 4).includes("\r\n0\r\n\r\n") ||
      raw
        .subarray(end + 4)
        .subarray(0, 5)
        .toString("latin1") === "0\r\n\r\n"
    );
  return false;
}

function parseResponse(raw: Buffer): Omit<RawResponse, "ms"> | undefined {
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const [statusLine = "", ...lines] = raw.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  if (status === 0) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = raw.subarray(end + 4);
  if (headers["transfer-encoding"]?.toLowerCase() === "chunked") body = dechunk(body);
  else if (headers["content-length"] !== undefined)
    body = body.subarray(0, Number(headers["content-length"]));
  return { status, headers, body };
}

/** The payload of a chunked body (as far as it goes: a cut-off stream gives what arrived). */
function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    const lineEnd = data.indexOf("\r\n", at);
    if (lineEnd < 0) break;
    const size = Number.parseInt(data.subarray(at, lineEnd).toString("latin1"), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
