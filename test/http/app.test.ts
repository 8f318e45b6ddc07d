import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/core/errors.js";
import { appHarness } from "../helpers/app-harness.js";
import { json } from "../helpers/json.js";
import { type Script, ScriptedBackend } from "../helpers/scripted-backend.js";

const WORDS = ["The", "quick", "brown", "fox", "jumps"];

function harness(script: Partial<Script> = {}, options: { bodyLimitBytes?: number } = {}) {
  return appHarness({
    ...options,
    backends: (clock) => [
      new ScriptedBackend({
        clock,
        model: "test-model",
        script: { words: WORDS, ttftMs: 50, itlMs: 10, ...script },
      }),
    ],
  });
}

const chatBody = { model: "test-model", messages: [{ role: "user", content: "Say something" }] };

function sseEvents(text: string): unknown[] {
  return text
    .split("\n\n")
    .filter((block) => block.startsWith("data: "))
    .map((block) => block.slice(6))
    .map((data) => (data === "[DONE]" ? "[DONE]" : JSON.parse(data)));
}

describe("POST /v1/chat/completions", () => {
  it("returns a chat.completion with usage, cost headers and a request id", async () => {
    const h = harness();
    const res = await h.post("/v1/chat/completions", chatBody);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{32}$/);
    expect(res.headers.get("x-tollgate-deployment")).toBe("scripted");
    // 5 tokens x 0.01 GPU-s at $3.60/GPU-hour = $0.00005
    expect(Number(res.headers.get("x-tollgate-cost-usd"))).toBeCloseTo(0.00005, 10);
    const body = await json(res);
    expect(body).toMatchObject({
      object: "chat.completion",
      model: "test-model",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "The quick brown fox jumps" },
          finish_reason: "stop",
        },
      ],
      usage: { completion_tokens: 5, total_tokens: body.usage.prompt_tokens + 5 },
    });
    expect(body.id).toBe(`chatcmpl-${res.headers.get("x-request-id")}`);
    expect(body.usage.prompt_tokens).toBeGreaterThan(3);
  });

  it("keeps a client's own request id", async () => {
    const res = await harness().post("/v1/chat/completions", chatBody, { "x-request-id": "client-123" });
    expect(res.headers.get("x-request-id")).toBe("client-123");
  });

  it("stops at max_tokens with finish_reason length", async () => {
    const res = await harness().post("/v1/chat/completions", { ...chatBody, max_tokens: 2 });
    const body = await json(res);
    expect(body.choices[0]).toMatchObject({ message: { content: "The quick" }, finish_reason: "length" });
    expect(body.usage.completion_tokens).toBe(2);
  });

  it("streams chunks: role first, one per token, finish, usage when asked, then [DONE]", async () => {
    const h = harness();
    const res = await h.post("/v1/chat/completions", {
      ...chatBody,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const events = sseEvents(await h.text(res)) as Array<Record<string, unknown> | string>;
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1) as Array<{
      choices: Array<{ delta: { content?: string; role?: string }; finish_reason: string | null }>;
      usage: unknown;
      object: string;
    }>;
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: "assistant", content: "" });
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(text).toBe("The quick brown fox jumps");
    const finish = chunks.at(-2)!;
    expect(finish.choices[0]!.finish_reason).toBe("stop");
    expect(finish.usage).toBeNull();
    const usageChunk = chunks.at(-1)!;
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toMatchObject({ completion_tokens: 5 });
  });

  it("omits usage fields in chunks unless asked", async () => {
    const h = harness();
    const res = await h.post("/v1/chat/completions", { ...chatBody, stream: true });
    const events = sseEvents(await h.text(res));
    expect(events.some((e) => typeof e === "object" && e !== null && "usage" in e)).toBe(false);
  });

  it("turns a failure before the first token into an HTTP error, and one after it into an SSE error event", async () => {
    const early = harness({ failAfter: 0, failWith: new GatewayError("backend_error", "engine fell over") });
    const res1 = await early.post("/v1/chat/completions", { ...chatBody, stream: true });
    expect(res1.status).toBe(502);
    expect(await json(res1)).toEqual({
      error: { message: "engine fell over", type: "server_error", param: null, code: "backend_error" },
    });

    const late = harness({ failAfter: 2, failWith: new GatewayError("backend_error", "engine fell over") });
    const res2 = await late.post("/v1/chat/completions", { ...chatBody, stream: true });
    expect(res2.status).toBe(200);
    const events = sseEvents(await late.text(res2));
    expect(events.at(-1)).toMatchObject({ error: { code: "backend_error" } });
    expect(events).not.toContain("[DONE]");
  });

  it("answers 503 with Retry-After when no replica is ready", async () => {
    const h = harness();
    (h.backends[0] as ScriptedBackend).ready = false;
    const res = await h.post("/v1/chat/completions", chatBody);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect((await json(res)).error.code).toBe("replica_unavailable");
    const ready = await h.request("/readyz");
    expect(ready.status).toBe(503);
  });

  it("hides internal errors behind a 500 that quotes the request id", async () => {
    const h = harness({ failAfter: 0, failWith: new Error("secret stack detail") as GatewayError });
    const res = await h.post("/v1/chat/completions", chatBody);
    expect(res.status).toBe(500);
    const body = await json(res);
    expect(body.error.type).toBe("server_error");
    expect(body.error.message).toContain(res.headers.get("x-request-id")!);
    expect(JSON.stringify(body)).not.toContain("secret");
  });
});

describe("bad input", () => {
  it.each([
    { name: "malformed JSON", body: "{not json", status: 400, code: "invalid_json" },
    { name: "empty body", body: "", status: 400, code: "invalid_json" },
    { name: "missing messages", body: { model: "test-model" }, status: 400, code: "invalid_request" },
    {
      name: "empty messages",
      body: { model: "test-model", messages: [] },
      status: 400,
      code: "invalid_request",
    },
    {
      name: "wrong type",
      body: { model: 42, messages: [{ role: "user", content: "x" }] },
      status: 400,
      code: "invalid_request",
    },
    {
      name: "unknown model",
      body: { model: "gpt-9", messages: [{ role: "user", content: "x" }] },
      status: 404,
      code: "model_not_found",
    },
    { name: "n > 1", body: { ...chatBody, n: 3 }, status: 400, code: "unsupported_parameter" },
    {
      name: "max_tokens beyond context",
      body: { ...chatBody, max_tokens: 5000 },
      status: 400,
      code: "context_length_exceeded",
    },
  ])("$name -> $status $code", async ({ body, status, code }) => {
    const res = await harness().post("/v1/chat/completions", body);
    expect(res.status).toBe(status);
    const payload = await json(res);
    expect(Object.keys(payload.error).sort()).toEqual(["code", "message", "param", "type"]);
    expect(payload.error.code).toBe(code);
    expect(payload.error.message.length).toBeGreaterThan(10);
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });

  it("rejects an oversized body with 413", async () => {
    const res = await harness({}, { bodyLimitBytes: 1000 }).post("/v1/chat/completions", {
      ...chatBody,
      messages: [{ role: "user", content: "x".repeat(2000) }],
    });
    expect(res.status).toBe(413);
    expect((await json(res)).error.code).toBe("request_too_large");
  });

  it("answers a wrong method with 405 and Allow", async () => {
    const res = await harness().request("/v1/chat/completions", { method: "GET" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
    expect((await json(res)).error.type).toBe("invalid_request_error");
  });

  it("answers an unknown path with an OpenAI-style 404", async () => {
    const res = await harness().request("/v1/embeddingz");
    expect(res.status).toBe(404);
    expect((await json(res)).error.code).toBe("not_found");
  });
});

describe("POST /v1/completions", () => {
  it("completes a string prompt", async () => {
    const res = await harness().post("/v1/completions", { model: "test-model", prompt: "Once upon a time" });
    const body = await json(res);
    expect(body).toMatchObject({
      object: "text_completion",
      choices: [{ index: 0, text: "The quick brown fox jumps", finish_reason: "stop" }],
    });
    expect(body.usage.prompt_tokens).toBe(4);
    expect(body.id).toMatch(/^cmpl-/);
  });

  it("gives one choice per prompt of an array, with usage summed", async () => {
    const res = await harness().post("/v1/completions", {
      model: "test-model",
      prompt: ["a", "b c"],
      max_tokens: 3,
    });
    const body = await json(res);
    expect(body.choices.map((c: { index: number }) => c.index)).toEqual([0, 1]);
    expect(body.usage.completion_tokens).toBe(6);
    expect(body.usage.prompt_tokens).toBe(3);
  });

  it("streams text_completion chunks with indexes", async () => {
    const h = harness();
    const res = await h.post("/v1/completions", {
      model: "test-model",
      prompt: ["a", "b"],
      max_tokens: 2,
      stream: true,
    });
    const events = sseEvents(await h.text(res)) as Array<
      { choices: Array<{ index: number; text: string }> } | string
    >;
    expect(events.at(-1)).toBe("[DONE]");
    const byIndex = [0, 1].map((i) =>
      events
        .slice(0, -1)
        .flatMap((e) => (typeof e === "string" ? [] : e.choices))
        .filter((c) => c.index === i)
        .map((c) => c.text)
        .join(""),
    );
    expect(byIndex).toEqual(["The quick", "The quick"]);
  });
});

describe("models, health and metrics", () => {
  it("lists models and gets one by id", async () => {
    const h = harness();
    const list = await json(await h.request("/v1/models"));
    expect(list).toMatchObject({
      object: "list",
      data: [{ id: "test-model", object: "model", owned_by: "tollgate" }],
    });
    const one = await h.request("/v1/models/test-model");
    expect(await json(one)).toMatchObject({ id: "test-model", object: "model" });
    const missing = await h.request("/v1/models/nope");
    expect(missing.status).toBe(404);
    expect((await json(missing)).error.code).toBe("model_not_found");
  });

  it("reports health and readiness", async () => {
    const h = harness();
    expect((await h.request("/healthz")).status).toBe(200);
    expect(await json(await h.request("/readyz"))).toEqual({ status: "ready" });
  });

  it("counts requests, tokens and cost in /metrics", async () => {
    const h = harness();
    await h.post("/v1/chat/completions", chatBody);
    await h.post("/v1/chat/completions", { model: "nope", messages: [{ role: "user", content: "x" }] });
    const text = await (await h.request("/metrics")).text();
    expect(text).toContain(
      'tollgate_requests_total{endpoint="chat_completions",model="test-model",status="200"} 1',
    );
    expect(text).toContain('tollgate_requests_total{endpoint="chat_completions",model="",status="404"} 1');
    expect(text).toContain('tollgate_generation_tokens_total{model="test-model",deployment="scripted"} 5');
    expect(text).toMatch(
      /tollgate_response_cost_usd_count\{model="test-model",deployment="scripted",tier="none"\} 1/,
    );
    expect(text).toContain(
      'tollgate_replica_ready{model="test-model",deployment="scripted",replica="scripted/0"} 1',
    );
  });
});
