// The stack's ceiling: bare Hono on @hono/node-server answering /v1/chat/completions with a fixed
// chat.completion body, or a fixed SSE stream with `?stream=1`. It never reads the request body (no parsing, no
// work), so it is the most this stack can do on this machine. With BARE_READ_BODY=1 it first reads the body the
// portable way (`c.req.text()`), the least any JSON API on this stack must do.
// Prints {"port":N} on stdout once listening; stops on SIGTERM.
import { serve } from "@hono/node-server";
import { Hono } from "hono";

const words = "The quick brown fox jumps over the lazy dog while the model serves every token".split(" ");
const completion = JSON.stringify({
  id: "chatcmpl-bare",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "bench-model",
  system_fingerprint: "fp_bare",
  choices: [
    {
      index: 0,
      message: { role: "assistant", content: words.join(" "), refusal: null },
      logprobs: null,
      finish_reason: "length",
    },
  ],
  usage: { prompt_tokens: 20, completion_tokens: words.length, total_tokens: 20 + words.length },
});
const chunk = (delta, finish) =>
  `data: ${JSON.stringify({ id: "chatcmpl-bare", object: "chat.completion.chunk", created: 1_700_000_000, model: "bench-model", choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
const stream = [
  chunk({ role: "assistant", content: "" }, null),
  ...words.map((w, i) => chunk({ content: i === 0 ? w : ` ${w}` }, null)),
  chunk({}, "length"),
  "data: [DONE]\n\n",
].join("");

const app = new Hono();
const readBody = process.env.BARE_READ_BODY === "1";
app.post("/v1/chat/completions", async (c) => {
  if (readBody) await c.req.text();
  if (c.req.query("stream") === "1") {
    return c.body(stream, 200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
    });
  }
  return c.body(completion, 200, { "content-type": "application/json" });
});

const server = serve(
  { fetch: app.fetch, port: Number(process.env.PORT ?? 0), hostname: "127.0.0.1" },
  (info) => {
    process.stdout.write(`${JSON.stringify({ port: info.port })}\n`);
  },
);
process.once("SIGTERM", () => server.close(() => process.exit(0)));
