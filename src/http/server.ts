import type { Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { type HttpBindings, serve } from "@hono/node-server";
import type { Hono } from "hono";
import { errorBody } from "../api/error-body.js";
import { type ErrorCode, GatewayError } from "../core/errors.js";
import type { ConnectionInfo } from "./connection.js";
import type { AppEnv } from "./env.js";

export interface RunningServer {
  /** The port actually bound (useful with port 0). */
  port: number;
  /** Stops accepting connections, waits for open ones up to `graceMs`, then closes the rest. */
  close(graceMs?: number): Promise<void>;
}

/** How long the server waits for clients (server.* in the config). */
export interface ServerTimeouts {
  /** From a request's first byte to the end of its headers (Node's headersTimeout). */
  headersTimeoutMs: number;
  /**
   * From a request's first byte to the end of its body (Node's requestTimeout). Only the request: a response
   * streamed for minutes afterwards is not cut by it.
   */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long (Node's keepAliveTimeout). */
  keepAliveTimeoutMs: number;
}

/** The schema's defaults (src/config/schema.ts), for callers that start a server without a config. */
const DEFAULT_TIMEOUTS: ServerTimeouts = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
};

/**
 * Listens with @hono/node-server; resolves once the socket is bound. Each connection's peer address is
 * recorded when it is accepted and handed to the app with every request on it (c.env.connection).
 */
export function startServer(
  app: Hono<AppEnv>,
  options: { port: number; host: string; timeouts?: ServerTimeouts },
): Promise<RunningServer> {
  const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  const connections = new WeakMap<Socket, ConnectionInfo>();
  return new Promise((resolve, reject) => {
    const server = serve(
      {
        fetch: (request, env) => {
          const bindings = env as HttpBindings & AppEnv["Bindings"];
          const connection = connections.get(bindings.incoming.socket);
          if (connection !== undefined) {
            connection.response = bindings.outgoing;
            bindings.connection = connection;
          }
          return app.fetch(request, bindings);
        },
        port: options.port,
        hostname: options.host,
        serverOptions: {
          headersTimeout: timeouts.headersTimeoutMs,
          requestTimeout: timeouts.requestTimeoutMs,
          keepAliveTimeout: timeouts.keepAliveTimeoutMs,
          // Node checks the two timeouts on this interval (30 s by default): a tenth of the shorter one keeps
          // a timed-out client from lingering much past its deadline.
          connectionsCheckingInterval: Math.max(
            10,
            Math.min(1_000, Math.floor(Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs) / 10)),
          ),
        },
      },
      (info: AddressInfo) => {
        resolve({
          port: info.port,
          close: (graceMs = 10_000) =>
            new Promise<void>((done) => {
              const timer = setTimeout(() => http.closeAllConnections(), graceMs);
              timer.unref();
              http.close(() => {
                clearTimeout(timer);
                done();
              });
              http.closeIdleConnections();
            }),
        });
      },
    );
    const http = server as Server;
    http.keepAliveTimeout = timeouts.keepAliveTimeoutMs;
    http.on("connection", (socket: Socket) => {
      connections.set(socket, { peer: socket.remoteAddress, timedOut: false });
    });
    http.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) =>
      answerClientError(error, socket, connections.get(socket)),
    );
    server.once("error", reject);
  });
}

/** Node's clientError codes that mean the headers or the whole request did not arrive in time. */
const TIMEOUT_CODES: ReadonlySet<string | undefined> = new Set([
  "ERR_HTTP_REQUEST_TIMEOUT",
  "ERR_HTTP_HEADERS_TIMEOUT",
]);

/**
 * Replaces Node's bare error replies (a 400 or 408 with no body) with OpenAI-style ones, then closes the
 * connection. As Node does, nothing is written once a response on the socket has started, so a reply is
 * never spliced into another.
 */
function answerClientError(
  error: NodeJS.ErrnoException,
  socket: Socket,
  connection: ConnectionInfo | undefined,
): void {
  const timedOut = TIMEOUT_CODES.has(error.code);
  if (timedOut && connection !== undefined) connection.timedOut = true;
  const response = connection?.response;
  const started = response !== undefined && !response.writableFinished && response.headersSent;
  if (error.code !== "ECONNRESET" && socket.writable && !started) {
    const [status, code, message] = timedOut
      ? ([408, "request_timeout", "The request did not arrive in time; the connection is closed."] as const)
      : error.code === "HPE_HEADER_OVERFLOW"
        ? ([431, "request_headers_too_large", "The request headers are too large."] as const)
        : ([400, "invalid_request", "The request is not valid HTTP/1.1."] as const);
    socket.write(rawResponse(status, code, message));
  }
  socket.destroy();
}

const REASONS: Readonly<Record<number, string>> = {
  400: "Bad Request",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
};

function rawResponse(status: number, code: ErrorCode, message: string): string {
  const body = JSON.stringify(errorBody(new GatewayError(code, message)));
  return (
    `HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}
