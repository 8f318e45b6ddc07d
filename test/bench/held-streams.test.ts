import { setTimeout as delay } from "node:timers/promises";
import { Pool } from "undici";
import { describe, expect, it } from "vitest";
import { HeldStreams } from "../../bench/lib/held-streams.js";
import { loopbackServers } from "../helpers/loopback.js";

const serve = loopbackServers();

/** The memory bench's counts: a 503 is a refusal, not a stream; only the client's own close is not a failure. */
describe("HeldStreams", () => {
  it("counts each request as what the client got", async () => {
    const origin = await serve((req, res) => {
      const kind = req.url?.slice(1);
      if (kind === "refuse") {
        res.writeHead(503, { "content-type": "application/json" });
        res.end(
          '{"error":{"message":"full","type":"server_error","param":null,"code":"service_unavailable"}}',
        );
      } else if (kind === "broken") {
        res.writeHead(500, { "content-type": "application/json" });
        res.end('{"error":{"message":"x","type":"server_error","param":null,"code":"internal_error"}}');
      } else if (kind === "short") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end("data: {}\n\ndata: [DONE]\n\n");
      } else if (kind === "reset") {
        req.socket.destroy();
      } else if (kind === "stream") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write("data: {}\n\n");
      }
      // "queued": no answer until the client leaves.
    });
    const pool = new Pool(origin, { connections: 16 });
    const client = new AbortController();
    const streams = new HeldStreams();
    const follow = (kind: string) =>
      streams.follow(pool, { path: `/${kind}`, method: "POST", signal: client.signal });
    const all = ["refuse", "refuse", "broken", "short", "reset", "stream", "stream", "queued"].map(follow);
    while (streams.counts().streaming < 2 || streams.counts().waiting > 1) await delay(5);

    expect(streams.counts()).toEqual({
      requested: 8,
      waiting: 1,
      streaming: 2,
      ended: 1,
      refused: 2,
      failed: 2,
      refusedBy: { "503 service_unavailable": 2 },
      failedBy: { "HTTP 500 internal_error": 1, UND_ERR_SOCKET: 1 },
    });
    expect(streams.held).toBe(3);
    client.abort();
    await Promise.all(all);
    // Closed by the client: neither held nor failed.
    expect(streams.counts()).toMatchObject({ waiting: 0, streaming: 0, failed: 2, refused: 2, ended: 1 });
    await pool.destroy();
  });
});
