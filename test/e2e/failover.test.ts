import OpenAI from "openai";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { compose } from "../../src/compose.js";
import { parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { SystemClock } from "../../src/core/clock.js";
import { type RunningServer, startServer } from "../../src/http/server.js";
import { parsePrometheusText, sampleValue } from "../helpers/prometheus.js";

/**
 * A fleet over real HTTP on loopback: two upstream Tollgate servers, each one simulated replica, behind a
 * gateway that reaches them through its openai-http backend. Replicas are killed mid-run.
 */
const logger = pino({ level: "silent" });
const running: Array<{ server: RunningServer; close(): Promise<void> }> = [];

async function serve(input: ConfigInput) {
  const composed = compose({
    // Routing under failure is measured here; the guard would throttle this test's bursts.
    config: parseConfig({ guard: { enabled: false }, ...input }),
    clock: new SystemClock(),
    logger,
    processMetrics: false,
  });
  const server = await startServer(composed.app, { port: 0, host: "127.0.0.1" });
  const entry = {
    server,
    composed,
    url: `http://127.0.0.1:${server.port}`,
    close: async () => {
      await server.close(0);
      await composed.gateway.close();
    },
  };
  running.push(entry);
  return entry;
}

function upstream() {
  return serve({
    models: [{ id: "m", profile: "Qwen2.5-0.5B" }],
    deployments: [
      {
        name: "sim",
        model: "m",
        backend: {
          type: "simulated",
          hardware: "H100-SXM-80GB",
          output: { lengthMedian: 1e6, lengthSigma: 0 },
        },
      },
    ],
  });
}

async function gatewayOver(urls: string[], routing: Record<string, unknown> = {}) {
  return serve({
    models: [{ id: "m", profile: "Qwen2.5-0.5B", routing: { policy: "round-robin", ...routing } }],
    deployments: urls.map((url, i) => ({
      name: `up${i}`,
      model: "m",
      backend: { type: "openai-http", url, connections: 4 },
    })),
  });
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close().catch(() => undefined)));
});

describe("failover over HTTP replicas", () => {
  it("loses no request when a replica dies mid-run while another can serve", async () => {
    const a = await upstream();
    const b = await upstream();
    const gw = await gatewayOver([a.url, b.url]);
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "x", maxRetries: 0 });
    const ask = () =>
      client.chat.completions.create({
        model: "m",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 8,
      });
    const served: string[] = [];
    for (let i = 0; i < 20; i++) {
      if (i === 6) await a.close();
      const { data, response } = await ask().withResponse();
      expect(data.choices[0]!.message.content!.length).toBeGreaterThan(0);
      served.push(response.headers.get("x-tollgate-replica") ?? "");
    }
    expect(served.slice(8).every((r) => r === "up1/0")).toBe(true);
    const metrics = parsePrometheusText(await gw.composed.metrics.registry.metrics());
    expect(sampleValue(metrics, "tollgate_retries_total", {})).toBeGreaterThan(0);
  });

  it("answers quickly with a 5xx and no retry storm when every replica is down", async () => {
    const a = await upstream();
    const b = await upstream();
    const gw = await gatewayOver([a.url, b.url], { retries: { budgetMinPerSecond: 1, budgetRatio: 0.1 } });
    await a.close();
    await b.close();
    const started = Date.now();
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: 4 }),
      });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    expect(statuses.every((s) => s === 502 || s === 503)).toBe(true);
    expect(statuses.at(-1)).toBe(503);
    expect(Date.now() - started).toBeLessThan(5000);
    const metrics = parsePrometheusText(await gw.composed.metrics.registry.metrics());
    // Budget: max(1/s x 10 s, 0.1 x 30) = 10 retries at most.
    expect(sampleValue(metrics, "tollgate_retries_total", {})).toBeLessThanOrEqual(10);
  });

  it("never retries a stream after its first byte: the client gets an error event, nothing twice", async () => {
    const a = await upstream();
    const b = await upstream();
    const gw = await gatewayOver([a.url, b.url]);
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({
        model: "m",
        messages: [{ role: "user", content: "long" }],
        max_tokens: 3000,
        stream: true,
      }),
    });
    expect(res.status).toBe(200);
    const serving = res.headers.get("x-tollgate-replica");
    const victim = serving === "up0/0" ? a : b;
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value);
    await victim.close();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    expect(text).toContain('"error"');
    expect(text).not.toContain("[DONE]");
    const metrics = parsePrometheusText(await gw.composed.metrics.registry.metrics());
    expect(sampleValue(metrics, "tollgate_retries_total", {})).toBe(0);
  });
});
