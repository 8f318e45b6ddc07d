import type { IncomingMessage, ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { createHttpSender } from "../../bench/lib/http-sender.js";
import type { WorkloadRequest } from "../../bench/lib/workload.js";
import { fakeRequest, loopbackServers, withBody } from "../helpers/loopback.js";

function request(body: Record<string, unknown>): WorkloadRequest {
  return fakeRequest({
    body,
    headers: { "content-type": "application/json", authorization: "Bearer k" },
    maxTokens: 4,
  });
}

const listen = loopbackServers();

/** A loopback server on an ephemeral port; returns its origin. */
async function serve(
  handler: (body: string, req: IncomingMessage, res: ServerResponse) => void,
): Promise<string> {
  return listen(withBody(handler));
}

describe("createHttpSender", () => {
  it("POSTs the body and headers and reads usage from a JSON response", async () => {
    const seen: { path?: string; body?: string; auth?: string } = {};
    const origin = await serve((body, req, res) => {
      Object.assign(seen, { path: req.url, body, auth: req.headers.authorization });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ choices: [], usage: { completion_tokens: 7 } }));
    });
    const sender = createHttpSender({ baseUrl: origin, connections: 2 });
    let firstBytes = 0;
    const outcome = await sender.send(request({ stream: false }), () => firstBytes++);
    await sender.close();
    expect(outcome).toEqual({ status: 200, completionTokens: 7 });
    expect(firstBytes).toBe(1);
    expect(seen).toEqual({ path: "/v1/chat/completions", body: '{"stream":false}', auth: "Bearer k" });
  });

  it("reads an SSE stream and reports its first content event", async () => {
    const origin = await serve((_body, _req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`data: ${JSON.stringify({ choices: [{ delta: { role: "assistant", content: "" } }] })}\n\n`);
      res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: "a" } }] })}\n\n`);
      res.end(`data: ${JSON.stringify({ choices: [{ delta: { content: "b" } }] })}\n\ndata: [DONE]\n\n`);
    });
    const sender = createHttpSender({ baseUrl: origin, path: "/v1/x" });
    let firstBytes = 0;
    const outcome = await sender.send(request({ stream: true }), () => firstBytes++);
    await sender.close();
    expect(outcome).toEqual({ status: 200, completionTokens: 2 });
    expect(firstBytes).toBe(1);
  });

  it("returns error statuses without an error, and transport failures as status 0", async () => {
    const origin = await serve((_body, _req, res) => {
      res.writeHead(429, { "content-type": "application/json" });
      res.end('{"error":{"message":"slow down"}}');
    });
    const sender = createHttpSender({ baseUrl: origin });
    expect(await sender.send(request({}), () => {})).toEqual({ status: 429, completionTokens: 0 });
    await sender.close();

    const closed = createHttpSender({ baseUrl: "http://127.0.0.1:1" });
    const outcome = await closed.send(request({}), () => {});
    await closed.close();
    expect(outcome.status).toBe(0);
    expect(outcome.error).toEqual(expect.any(String));
  });

  it("gives a non-2xx answer's body to sendWithHeaders, and no first byte", async () => {
    const body = '{"error":{"code":"challenge_required","challenge":{"id":"c"}}}';
    const origin = await serve((_body, _req, res) => {
      res.writeHead(403, { "content-type": "application/json" });
      res.end(body);
    });
    const sender = createHttpSender({ baseUrl: origin });
    let firstBytes = 0;
    const outcome = await sender.sendWithHeaders(request({ stream: true }), () => firstBytes++);
    const plain = await sender.send(request({}), () => firstBytes++);
    await sender.close();
    expect(outcome).toMatchObject({ status: 403, completionTokens: 0, errorBody: body });
    expect(plain).toEqual({ status: 403, completionTokens: 0 });
    expect(firstBytes).toBe(0);
  });

  it("resolves with the response headers from sendWithHeaders, and without them on a transport failure", async () => {
    const origin = await serve((_body, _req, res) => {
      res.writeHead(200, { "content-type": "application/json", "x-cache": "HIT" });
      res.end(JSON.stringify({ choices: [], usage: { completion_tokens: 2 } }));
    });
    const sender = createHttpSender({ baseUrl: origin });
    const outcome = await sender.sendWithHeaders(request({ stream: false }), () => {});
    await sender.close();
    expect(outcome).toMatchObject({ status: 200, completionTokens: 2 });
    expect(outcome.headers?.["x-cache"]).toBe("HIT");

    const closed = createHttpSender({ baseUrl: "http://127.0.0.1:1" });
    const failed = await closed.sendWithHeaders(request({}), () => {});
    await closed.close();
    expect(failed.status).toBe(0);
    expect(failed.headers).toBeUndefined();
  });

  it("rejects a bad connection count", () => {
    expect(() => createHttpSender({ baseUrl: "http://127.0.0.1:1", connections: 0 })).toThrow(/connections/);
  });
});
