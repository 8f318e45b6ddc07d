// An OpenAI-compatible upstream for leak tests, run as its own process (so its sockets and timers are not
// counted with the gateway's). The last message's content picks the behaviour of a chat completion:
//   "slow"    a token every 20 ms, 500 tokens (clients abort it mid-stream)
//   "hang"    headers never sent, until the client goes (a first-token timeout)
//   "trickle" the first token at once, then one every 100 ms, 500 tokens (a total timeout after the first token)
//   "flaky"   503 on every other request, else as "ok"
//   anything else: the whole stream at once (role chunk, 4 tokens, finish, usage, [DONE])
// GET /v1/models answers 200 (health checks). Prints {"port":N} once listening; stops on SIGTERM.
import { createServer } from "node:http";

const base = { id: "chatcmpl-up", object: "chat.completion.chunk", created: 1, model: "upstream" };
const event = (fields) => `data: ${JSON.stringify({ ...base, ...fields })}\n\n`;
const delta = (content) => event({ choices: [{ index: 0, delta: { content }, finish_reason: null }] });
const finish = event({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
const usage = (n) =>
  event({ choices: [], usage: { prompt_tokens: 8, completion_tokens: n, total_tokens: 8 + n } });
const whole = [delta(""), delta("one"), delta(" two"), delta(" three"), delta(" four"), finish, usage(4)]
  .concat("data: [DONE]\n\n")
  .join("");

let flaky = 0;

function paced(res, first, everyMs, count) {
  res.writeHead(200, { "content-type": "text/event-stream" });
  res.write(delta(first));
  let sent = 1;
  const timer = setInterval(() => {
    res.write(delta(" x"));
    if (++sent < count) return;
    clearInterval(timer);
    res.end(finish + usage(count) + "data: [DONE]\n\n");
  }, everyMs);
  res.once("close", () => clearInterval(timer));
}

const server = createServer((req, res) => {
  if (req.method === "GET") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"object":"list","data":[]}');
    return;
  }
  let body = "";
  req.setEncoding("utf8");
  req.on("data", (chunk) => {
    body += chunk;
  });
  req.once("end", () => {
    const messages = JSON.parse(body).messages ?? [];
    const kind = messages.at(-1)?.content ?? "";
    if (kind === "hang") return;
    if (kind === "slow") return paced(res, "s", 20, 500);
    if (kind === "trickle") return paced(res, "t", 100, 500);
    if (kind === "flaky" && flaky++ % 2 === 0) {
      res.writeHead(503, { "content-type": "application/json" });
      res.end('{"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}');
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.end(whole);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.once("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
