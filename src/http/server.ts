import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Hono } from "hono";
import type { AppEnv } from "./env.js";

export interface RunningServer {
  /** The port actually bound (useful with port 0). */
  port: number;
  /** Stops accepting connections, waits for open ones up to `graceMs`, then closes the rest. */
  close(graceMs?: number): Promise<void>;
}

/** Listens with @hono/node-server; resolves once the socket is bound. */
export function startServer(
  app: Hono<AppEnv>,
  options: { port: number; host: string },
): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = serve(
      { fetch: app.fetch, port: options.port, hostname: options.host },
      (info: AddressInfo) => {
        resolve({
          port: info.port,
          close: (graceMs = 10_000) =>
            new Promise<void>((done) => {
              const http = server as import("node:http").Server;
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
    server.once("error", reject);
  });
}
