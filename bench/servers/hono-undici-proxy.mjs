// The proxy baseline: the least a Hono app must do to put an OpenAI-compatible upstream behind itself. It reads
// the request body, forwards it over an undici Pool of keep-alive connections (as Tollgate's openai-http
// backend does, with the same 64 connections) and pipes the upstream's status, content type and body back
// without looking at them: no parsing, no routing, no metrics.
// UPSTREAM_URL names the upstream's origin. Prints {"port":N} on stdout once listening; stops on SIGTERM.
import { Readable } from "node:stream";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { Pool } from "undici";

const upstream = process.env.UPSTREAM_URL;
if (upstream === undefined) throw new Error("set UPSTREAM_URL to the upstream's origin");
const pool = new Pool(upstream, { connections: Number(process.env.CONNECTIONS ?? 64) });

const app = new Hono();
app.post("/v1/chat/completions", async (c) => {
  const body = await c.req.text();
  const response = await pool.request({
    path: "/v1/chat/completions",
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body,
    // A client that goes away stops the upstream request too.
    signal: c.req.raw.signal,
  });
  return new Response(Readable.toWeb(response.body), {
    status: response.statusCode,
    headers: { "content-type": String(response.headers["content-type"] ?? "application/octet-stream") },
  });
});

const server = serve(
  { fetch: app.fetch, port: Number(process.env.PORT ?? 0), hostname: "127.0.0.1" },
  (info) => {
    process.stdout.write(`${JSON.stringify({ port: info.port })}\n`);
  },
);
process.once("SIGTERM", () => server.close(() => pool.close().then(() => process.exit(0))));
