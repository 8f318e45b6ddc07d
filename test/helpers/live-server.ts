import { connect, type Socket } from "node:net";
import { type Logger, pino } from "pino";
import { type Composed, compose } from "../../src/compose.js";
import { parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { SystemClock } from "../../src/core/clock.js";
import { type RunningServer, startServer } from "../../src/http/server.js";

export interface LiveServer {
  composed: Composed;
  server: RunningServer;
  port: number;
  base: string;
  close(): Promise<void>;
}

/**
 * The real server for a config on an ephemeral loopback port, with the config's server timeouts, as
 * `tollgate serve` runs it (whatever server.host says, it binds 127.0.0.1).
 */
export async function liveServer(input: ConfigInput, logger: Logger = pino({ level: "silent" })) {
  const config = parseConfig({ ...input, server: { port: 0, ...input.server } });
  const composed = compose({ config, clock: new SystemClock(), logger, processMetrics: false });
  await composed.ready();
  const server = await startServer(composed.app, { port: 0, host: "127.0.0.1", timeouts: config.server });
  return {
    composed,
    server,
    port: server.port,
    base: `http://127.0.0.1:${server.port}`,
    close: async () => {
      await server.close(0);
      await composed.close();
    },
  } satisfies LiveServer;
}

/** A raw TCP connection to a local port, open (and read from) once it resolves. */
export function openSocket(port: number, options: { localAddress?: string } = {}): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ...options }, () => resolve(new RawClient(socket)));
    socket.once("error", reject);
  });
}

/** A socket whose received bytes and closing are recorded (errors such as ECONNRESET are expected here). */
export class RawClient {
  readonly socket: Socket;
  received = "";
  readonly closed: Promise<void>;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (text: string) => {
      this.received += text;
    });
    socket.removeAllListeners("error");
    socket.on("error", () => {});
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
  }

  write(text: string): void {
    if (!this.socket.destroyed) this.socket.write(text);
  }

  /** The status code of the first response received, if any. */
  get status(): number | undefined {
    const match = /^HTTP\/1\.1 (\d{3})/.exec(this.received);
    return match ? Number(match[1]) : undefined;
  }

  /** The first response's body parsed as JSON (after the blank line), if there is one. */
  get json(): unknown {
    const at = this.received.indexOf("\r\n\r\n");
    if (at < 0) return undefined;
    try {
      return JSON.parse(this.received.slice(at + 4));
    } catch {
      return undefined;
    }
  }
}

/** The head of an HTTP/1.1 request with a JSON body of `length` bytes. */
export function requestHead(
  method: string,
  path: string,
  length: number,
  headers: Record<string, string> = {},
): string {
  const lines = [`${method} ${path} HTTP/1.1`, "Host: 127.0.0.1", "Content-Type: application/json"];
  lines.push(`Content-Length: ${length}`);
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return `${lines.join("\r\n")}\r\n\r\n`;
}
