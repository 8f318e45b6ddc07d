import OpenAI from "openai";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compose } from "../../src/compose.js";
import { parseConfig } from "../../src/config/load.js";
import { SystemClock } from "../../src/core/clock.js";
import { type RunningServer, startServer } from "../../src/http/server.js";
import { qwenSmallFleet } from "../helpers/fleets.js";
import { json } from "../helpers/json.js";
import { parsePrometheusText, sampleValue } from "../helpers/prometheus.js";

/**
 * The real server on an ephemeral port, spoken to by the official openai SDK and plain fetch. The simulated
 * engine runs on the system clock with a small model on a fast GPU, so a 16-token answer takes tens of ms.
 */
const config = parseConfig(qwenSmallFleet());

let server: RunningServer;
let client: OpenAI;
let base: string;
let close: () => Promise<void>;

beforeAll(async () => {
  const composed = compose({ config, clock: new SystemClock(), logger: pino({ level: "silent" }) });
  server = await startServer(composed.app, { port: 0, host: "127.0.0.1" });
  base = `http://127.0.0.1:${server.port}`;
  client = new OpenAI({ apiKey: "unused", baseURL: `${base}/v1`, maxRetries: 0 });
  close = async () => {
    await server.close(1000);
    await composed.gateway.close();
  };
});

afterAll(async () => {
  await close();
});

async function scrape(): Promise<ReturnType<typeof parsePrometheusText>> {
  return parsePrometheusText(await (await fetch(`${base}/metrics`)).text());
}

describe("openai SDK against a live Tollgate", () => {
  it("creates a chat completion", async () => {
    const completion = await client.chat.completions.create({
      model: "qwen-small",
      messages: [{ role: "user", content: "Tell me about GPUs." }],
      max_tokens: 16,
      temperature: 0,
    });
    expect(completion.object).toBe("chat.completion");
    expect(completion.choices[0]!.message.role).toBe("assistant");
    expect(completion.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(["stop", "length"]).toContain(completion.choices[0]!.finish_reason);
    expect(completion.usage!.completion_tokens).toBeLessThanOrEqual(16);
    expect(completion.usage!.prompt_tokens).toBeGreaterThan(5);
  });

  it("is deterministic for temperature 0", async () => {
    const ask = () =>
      client.chat.completions.create({
        model: "qwen-small",
        messages: [{ role: "user", content: "Same question" }],
        max_tokens: 16,
        temperature: 0,
      });
    const [a, b] = await Promise.all([ask(), ask()]);
    expect(a.choices[0]!.message.content).toBe(b.choices[0]!.message.content);
  });

  it("streams a chat completion with a usage chunk", async () => {
    const stream = await client.chat.completions.create({
      model: "qwen-small",
      messages: [{ role: "user", content: "Stream please." }],
      max_tokens: 16,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(["stop", "length"]).toContain(finish);
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    expect(usage?.total_tokens).toBe(usage!.prompt_tokens + usage!.completion_tokens);
  });

  it("creates a text completion", async () => {
    const completion = await client.completions.create({
      model: "qwen-small",
      prompt: "Once upon a time",
      max_tokens: 8,
    });
    expect(completion.object).toBe("text_completion");
    expect(completion.choices[0]!.text.length).toBeGreaterThan(0);
    expect(completion.usage!.prompt_tokens).toBe(4);
  });

  it("lists and retrieves models", async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(["qwen-small"]);
    const model = await client.models.retrieve("qwen-small");
    expect(model.id).toBe("qwen-small");
  });

  it("raises a typed NotFoundError for an unknown model", async () => {
    const error = await client.chat.completions
      .create({ model: "gpt-unknown", messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found");
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).requestID).toMatch(/^req_/);
  });

  it("raises a BadRequestError for max_tokens beyond the context", async () => {
    const error = await client.chat.completions
      .create({ model: "qwen-small", messages: [{ role: "user", content: "hi" }], max_tokens: 10_000_000 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe("context_length_exceeded");
  });
});

describe("plain HTTP against a live Tollgate", () => {
  it("rejects malformed JSON with an OpenAI error body", async () => {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"model": "qwen-small", "messages": [',
    });
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body.error).toMatchObject({ type: "invalid_request_error", code: "invalid_json", param: null });
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });

  it("rejects an oversized body with 413 without reading it all", async () => {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "qwen-small",
        messages: [{ role: "user", content: "x".repeat(2_000_000) }],
      }),
    });
    expect(res.status).toBe(413);
  });

  it("moves token, cost and latency metrics by the right amounts", async () => {
    const labels = { model: "qwen-small" };
    const before = await scrape();
    const completion = await client.chat.completions.create({
      model: "qwen-small",
      messages: [{ role: "user", content: "Count my tokens." }],
      max_tokens: 12,
    });
    const after = await scrape();
    const delta = (name: string, extra: Record<string, string> = {}) =>
      sampleValue(after, name, { ...labels, ...extra }) - sampleValue(before, name, { ...labels, ...extra });
    expect(delta("tollgate_generation_tokens_total")).toBe(completion.usage!.completion_tokens);
    expect(delta("tollgate_prompt_tokens_total")).toBe(completion.usage!.prompt_tokens);
    expect(delta("tollgate_response_cost_usd_count")).toBe(1);
    expect(delta("tollgate_response_cost_usd_sum")).toBeGreaterThan(0);
    expect(delta("tollgate_time_to_first_token_seconds_count")).toBe(1);
    expect(delta("tollgate_e2e_request_latency_seconds_count")).toBe(1);
    expect(delta("tollgate_requests_total", { endpoint: "chat_completions", status: "200" })).toBe(1);
    expect(sampleValue(after, "tollgate_replica_ready", labels)).toBe(2);
    expect(sampleValue(after, "process_resident_memory_bytes", {})).toBeGreaterThan(0);
  });

  it("serves health, readiness and wrong-method errors", async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const res = await fetch(`${base}/v1/models`, { method: "POST" });
    expect(res.status).toBe(405);
  });
});
