// The upstream of the proxy benchmark: a bare node:http server that answers every POST to /v1/chat/completions
// with one fixed OpenAI chat completion stream (a role chunk, one chunk per word, a finish chunk, a usage chunk,
// `data: [DONE]`), whatever the body says. It reads the body to its end (so keep-alive connections stay
// usable) but never parses it, so it costs as little as an OpenAI-compatible server can: what is measured
// behind it is the proxy in front.
// Prints {"port":N} on stdout once listening; stops on SIGTERM.
import { createServer } from "node:http";

const words = "The quick brown fox jumps over the lazy dog while the model serves every token".split(" ");
const base = {
  id: "chatcmpl-upstream",
  object: "chat.completion.chunk",
  created: 1_700_000_000,
  model: "bench-model",
};
const event = (fields) => `data: ${JSON.stringify({ ...base, ...fields })}\n\n`;
const choice = (delta, finish) => ({ choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
const stream = Buffer.from(
  [
    event(choice({ role: "assistant", content: "" }, null)),
    ...words.map((w, i) => event(choice({ content: i === 0 ? w : ` ${w}` }, null))),
    event(choice({}, "stop")),
    event({
      choices: [],
      usage: { prompt_tokens: 48, completion_tokens: words.length, total_tokens: 48 + words.length },
    }),
    "data: [DONE]\n\n",
  ].join(""),
);
// No content-length: chunked transfer encoding, as streaming servers (vLLM, OpenAI) send SSE.
const headers = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" };

const server = createServer((req, res) => {
  if (req.method !== "POST" || req.url?.split("?")[0] !== "/v1/chat/completions") {
    res.writeHead(404, { "content-type": "application/json" });
    res.end('{"error":{"message":"not found","type":"invalid_request_error"}}');
    return;
  }
  req.resume();
  req.once("end", () => {
    res.writeHead(200, headers);
    res.end(stream);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.once("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
