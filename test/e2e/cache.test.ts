import { createHash } from "node:crypto";
import OpenAI from "openai";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Composed, compose } from "../../src/compose.js";
import { parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { SystemClock } from "../../src/core/clock.js";
import { type RunningServer, startServer } from "../../src/http/server.js";
import { qwenSmallFleet } from "../helpers/fleets.js";
import { parsePrometheusText, sampleValue } from "../helpers/prometheus.js";

/**
 * The response cache end to end: the real server on an ephemeral port, the official openai SDK, the simulated
 * engine on the system clock. With REDIS_URL set, two gateways share one Redis.
 */
const TEST_KEY = "tg-test-cache-key";
const TEST_KEY_SHA256 = createHash("sha256").update(TEST_KEY).digest("hex");

function gatewayConfig(store: ConfigInput["store"] = {}) {
  return parseConfig(
    qwenSmallFleet({
      // A keyed client with no limits: the guard never challenges it, so bursts here test only the cache.
      guard: {
        tenants: { tests: {} },
        apiKeys: [{ name: "tests", sha256: TEST_KEY_SHA256, tenant: "tests" }],
      },
      store,
    }),
  );
}

interface Live {
  composed: Composed;
  server: RunningServer;
  client: OpenAI;
  base: string;
  close(): Promise<void>;
}

async function live(config = gatewayConfig()): Promise<Live> {
  const composed = compose({
    config,
    clock: new SystemClock(),
    logger: pino({ level: "silent" }),
    processMetrics: false,
  });
  await composed.ready();
  const server = await startServer(composed.app, { port: 0, host: "127.0.0.1" });
  const base = `http://127.0.0.1:${server.port}`;
  return {
    composed,
    server,
    base,
    client: new OpenAI({ apiKey: TEST_KEY, baseURL: `${base}/v1`, maxRetries: 0 }),
    close: async () => {
      await server.close(1000);
      await composed.close();
    },
  };
}

async function metric(base: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return sampleValue(parsePrometheusText(text), name, labels) ?? 0;
}

/** Backend generations so far: every routing decision starts one. */
const generations = (base: string) =>
  metric(base, "tollgate_routing_decisions_total", {
    model: "qwen-small",
    policy: "least-outstanding",
    deployment: "qwen-h100",
  });

describe("response cache with the openai SDK", () => {
  let g: Live;
  beforeAll(async () => {
    g = await live();
  });
  afterAll(async () => {
    await g.close();
  });

  it("answers a repeated deterministic request from the cache with the same content, streamed or not", async () => {
    const params = {
      model: "qwen-small",
      messages: [{ role: "user" as const, content: "Explain KV caches in one line." }],
      max_tokens: 16,
      temperature: 0,
    };
    const first = await g.client.chat.completions.create(params).withResponse();
    expect(first.response.headers.get("x-cache")).toBe("MISS");
    const before = await generations(g.base);
    const second = await g.client.chat.completions.create(params).withResponse();
    expect(second.response.headers.get("x-cache")).toBe("HIT");
    expect(second.data.choices[0]!.message.content).toBe(first.data.choices[0]!.message.content);
    expect(second.data.usage).toEqual(first.data.usage);

    const streamed = await g.client.chat.completions
      .create({ ...params, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    expect(streamed.response.headers.get("x-cache")).toBe("HIT");
    // Headers set by middleware and routes survive the raw-socket stream path of the real server.
    expect(streamed.response.headers.get("x-request-id")).toMatch(/^req_/);
    expect(streamed.response.headers.get("x-tollgate-slo-class")).toBe("standard");
    expect(streamed.response.headers.get("content-type")).toContain("text/event-stream");
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of streamed.data) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(first.data.choices[0]!.message.content);
    expect(usage?.completion_tokens).toBe(first.data.usage?.completion_tokens);
    expect(await generations(g.base)).toBe(before);
  });

  it("does not cache non-deterministic requests", async () => {
    const params = {
      model: "qwen-small",
      messages: [{ role: "user" as const, content: "Write something creative." }],
      max_tokens: 8,
      temperature: 0.9,
    };
    const before = await generations(g.base);
    for (let i = 0; i < 2; i++) {
      const { response } = await g.client.chat.completions.create(params).withResponse();
      expect(response.headers.get("x-cache")).toBe("BYPASS");
    }
    expect(await generations(g.base)).toBe(before + 2);
  });

  it("turns 50 concurrent identical requests into exactly one backend generation", async () => {
    const before = await generations(g.base);
    const ask = () =>
      g.client.chat.completions
        .create({
          model: "qwen-small",
          messages: [{ role: "user", content: "Fifty of us ask the same thing at once." }],
          max_tokens: 16,
          temperature: 0,
        })
        .withResponse();
    const answers = await Promise.all(Array.from({ length: 50 }, ask));
    expect(await generations(g.base)).toBe(before + 1);
    const texts = new Set(answers.map((a) => a.data.choices[0]!.message.content));
    expect(texts.size).toBe(1);
    const statuses = answers.map((a) => a.response.headers.get("x-cache"));
    expect(statuses.filter((s) => s === "MISS")).toHaveLength(1);
    // Requests that arrived while the generation ran joined it; any arriving after it finished were exact hits.
    const joined = await metric(g.base, "tollgate_cache_requests_total", {
      model: "qwen-small",
      kind: "exact",
      result: "coalesced",
    });
    expect(joined).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === "HIT")).toHaveLength(49);
  });
});

const redisUrl = process.env.REDIS_URL;
if ((redisUrl === undefined || redisUrl === "") && process.env.CI === "true") {
  throw new Error("REDIS_URL unset in CI: the shared-cache tests must run there (see .ci/run)");
}
if (redisUrl === undefined || redisUrl === "") console.warn("REDIS_URL unset: skipping shared-cache tests");

(redisUrl ? describe : describe.skip)("response cache shared through Redis", () => {
  const keyPrefix = `tollgate-test:cache:${process.pid}:${Date.now()}:`;
  let a: Live;
  let b: Live;
  beforeAll(async () => {
    a = await live(gatewayConfig({ url: redisUrl, keyPrefix }));
    b = await live(gatewayConfig({ url: redisUrl, keyPrefix }));
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    const { Redis } = await import("ioredis");
    const admin = new Redis(redisUrl ?? "");
    const keys = await admin.keys(`${keyPrefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
  });

  it("serves on one gateway an answer the other generated", async () => {
    const params = {
      model: "qwen-small",
      messages: [{ role: "user" as const, content: "Shared across the fleet?" }],
      max_tokens: 12,
      temperature: 0,
    };
    const first = await a.client.chat.completions.create(params).withResponse();
    expect(first.response.headers.get("x-cache")).toBe("MISS");
    const second = await b.client.chat.completions.create(params).withResponse();
    expect(second.response.headers.get("x-cache")).toBe("HIT");
    expect(second.data.choices[0]!.message.content).toBe(first.data.choices[0]!.message.content);
    expect(await metric(b.base, "tollgate_store_up", { store: "redis" })).toBe(1);
  });
});

describe("response cache with Redis unreachable", () => {
  it("keeps serving from local memory and reports the store down", async () => {
    // Port 1 on loopback: nothing listens, connections are refused at once.
    const g = await live(gatewayConfig({ url: "redis://127.0.0.1:1", connectTimeoutMs: 200 }));
    try {
      const params = {
        model: "qwen-small",
        messages: [{ role: "user" as const, content: "Is anyone there?" }],
        max_tokens: 8,
        temperature: 0,
      };
      const first = await g.client.chat.completions.create(params).withResponse();
      expect(first.response.headers.get("x-cache")).toBe("MISS");
      const second = await g.client.chat.completions.create(params).withResponse();
      expect(second.response.headers.get("x-cache")).toBe("HIT");
      expect(await metric(g.base, "tollgate_store_up", { store: "redis" })).toBe(0);
      expect(await metric(g.base, "tollgate_store_errors_total", { store: "redis" })).toBeGreaterThan(0);
    } finally {
      await g.close();
    }
  });
});
