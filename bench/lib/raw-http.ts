import { connect } from "node:net";

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
 * Sends the exact bytes of one HTTP/1.1 request (which must ask for `Connection: close`) and reads the response
 * until the server closes the connection. Nothing is validated or normalised on the way out, which is the point:
 * fetch and undici refuse or rewrite odd methods, paths, header bytes and framing.
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
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    // A server that answers before reading the whole body (413) may reset the connection under our write;
    // what it sent before is still the answer.
    socket.on("error", (e) => {
      error = e.message;
      finish();
    });
    socket.on("close", finish);
    // write, not end: a half-closed socket reads to Node's server as a client that went away mid-request.
    socket.write(options.bytes);
  });
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
