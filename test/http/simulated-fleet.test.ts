import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { compose } from "../../src/compose.js";
import { ConfigError, parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { VirtualClock } from "../../src/core/clock.js";
import { json } from "../helpers/json.js";
import { parsePrometheusText, sampleValue } from "../helpers/prometheus.js";

/** The composed gateway over simulated engines, driven by a virtual clock through app.request(). */
function fleet(input: ConfigInput) {
  const clock = new VirtualClock();
  const composed = compose({
    config: parseConfig(input),
    clock,
    logger: pino({ level: "silent" }),
    processMetrics: false,
  });
  const post = async (body: unknown, signal?: AbortSignal) => {
    const pending = Promise.resolve(
      composed.app.request("/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        ...(signal && { signal }),
      }),
    );
    await clock.runUntilIdle();
    return pending;
  };
  const metrics = async () => parsePrometheusText(await composed.metrics.registry.metrics());
  return { clock, ...composed, post, metrics };
}

const llama8bOnH100: ConfigInput = {
  models: [{ id: "llama", profile: "Llama-3.1-8B" }],
  deployments: [
    {
      name: "h100",
      model: "llama",
      replicas: 1,
      backend: {
        type: "simulated",
        hardware: "H100-SXM-80GB",
        output: { lengthMedian: 1e6, lengthSigma: 0 },
      },
    },
  ],
};

describe("gateway over the simulated engine", () => {
  it("reports roofline latency in metrics: a lone 8B request on an H100 decodes at about 9 ms per token", async () => {
    const f = fleet(llama8bOnH100);
    const res = await f.post({
      model: "llama",
      messages: [{ role: "user", content: "Hi" }],
      max_tokens: 101,
    });
    const body = await json(res);
    expect(body.usage.completion_tokens).toBe(101);
    const m = await f.metrics();
    const labels = { model: "llama", deployment: "h100" };
    const tpot = sampleValue(m, "tollgate_time_per_output_token_seconds_sum", labels);
    // 16.06e9 B / (3.35e12 B/s x 0.8) + 2 ms overhead = 7.99 ms, plus a little KV read.
    expect(tpot).toBeGreaterThan(0.00799);
    expect(tpot).toBeLessThan(0.0082);
    // Cost: the request was alone, so it paid for every step: GPU-seconds = busy time.
    const busy = sampleValue(m, "tollgate_replica_busy_seconds_total", labels);
    const gpuSeconds = sampleValue(m, "tollgate_gpu_seconds_total", labels);
    expect(gpuSeconds).toBeCloseTo(busy, 9);
    expect(sampleValue(m, "tollgate_cost_usd_total", labels)).toBeCloseTo((gpuSeconds * 2.99) / 3600, 12);
  });

  it("reports prefix-cache hits as cached_tokens for a repeated long system prompt", async () => {
    const f = fleet(llama8bOnH100);
    const system = {
      role: "system",
      content: "You are a meticulous assistant for GPU capacity planning. ".repeat(40),
    };
    const first = await json(
      await f.post({ model: "llama", messages: [system, { role: "user", content: "A?" }], max_tokens: 4 }),
    );
    const second = await json(
      await f.post({ model: "llama", messages: [system, { role: "user", content: "B?" }], max_tokens: 4 }),
    );
    expect(first.usage.prompt_tokens_details.cached_tokens).toBe(0);
    expect(second.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(second.usage.prompt_tokens - 48);
    expect(second.usage.prompt_tokens_details.cached_tokens % 16).toBe(0);
    const m = await f.metrics();
    expect(sampleValue(m, "tollgate_replica_prefix_cache_hit_tokens_total", { model: "llama" })).toBe(
      second.usage.prompt_tokens_details.cached_tokens,
    );
  });

  it("frees the engine seat when the client goes away mid-generation", async () => {
    const f = fleet(llama8bOnH100);
    const controller = new AbortController();
    const pending = Promise.resolve(
      f.app.request("/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "llama",
          messages: [{ role: "user", content: "long" }],
          max_tokens: 5000,
        }),
        signal: controller.signal,
      }),
    );
    await f.clock.advance(200);
    expect(f.gateway.replicaSamples()[0]!.running).toBe(1);
    controller.abort();
    await f.clock.advance(50);
    await pending.catch(() => undefined);
    const sample = f.gateway.replicaSamples()[0]!;
    expect(sample.running + sample.waiting).toBe(0);
    expect(sample.kvCacheUsage).toBe(0);
    expect(f.clock.nextTimerAt()).toBeUndefined();
  });

  it("spreads concurrent requests evenly across replicas (least outstanding)", async () => {
    const f = fleet({ ...llama8bOnH100, deployments: [{ ...llama8bOnH100.deployments[0]!, replicas: 3 }] });
    const pending = Array.from({ length: 6 }, (_, i) =>
      Promise.resolve(
        f.app.request("/v1/chat/completions", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            model: "llama",
            messages: [{ role: "user", content: `q${i}` }],
            max_tokens: 8,
          }),
        }),
      ),
    );
    await f.clock.runUntilIdle();
    const replicas = (await Promise.all(pending)).map((r) => r.headers.get("x-tollgate-replica"));
    const counts = Object.fromEntries(
      ["h100/0", "h100/1", "h100/2"].map((id) => [id, replicas.filter((r) => r === id).length]),
    );
    expect(counts).toEqual({ "h100/0": 2, "h100/1": 2, "h100/2": 2 });
  });

  it("serves a model with the window its KV cache can hold, and says so in /v1/models", async () => {
    const f = fleet({
      models: [{ id: "llama", profile: "Llama-3.1-8B" }],
      deployments: [{ name: "l4", model: "llama", backend: { type: "simulated", hardware: "L4" } }],
    });
    const card = await json(await f.app.request("/v1/models/llama"));
    // 24 GB x 0.9 - 16.06 GB weights - 2 GB reserve = 3.54 GB of KV at 128 KiB/token: about 27k tokens.
    expect(card.max_model_len).toBeLessThan(30_000);
    expect(card.max_model_len).toBeGreaterThan(25_000);
    const res = await f.post({
      model: "llama",
      messages: [{ role: "user", content: "x" }],
      max_tokens: 100_000,
    });
    expect(res.status).toBe(400);
    expect((await json(res)).error.code).toBe("context_length_exceeded");
  });

  it("runs the zero-latency profile without advancing time or charging GPU time", async () => {
    const f = fleet({
      ...llama8bOnH100,
      deployments: [
        {
          ...llama8bOnH100.deployments[0]!,
          backend: { type: "simulated", hardware: "H100-SXM-80GB", latency: "zero" },
        },
      ],
    });
    const res = await f.post({ model: "llama", messages: [{ role: "user", content: "Hi" }], max_tokens: 20 });
    expect(res.status).toBe(200);
    expect((await json(res)).usage.completion_tokens).toBeGreaterThan(0);
    expect(f.clock.now()).toBe(0);
    expect(Number(res.headers.get("x-tollgate-cost-usd"))).toBe(0);
  });

  it("refuses at start-up a deployment whose weights do not fit its GPUs", () => {
    const build = () =>
      fleet({
        models: [{ id: "big", profile: "Llama-3.1-70B" }],
        deployments: [{ name: "tiny", model: "big", backend: { type: "simulated", hardware: "L4" } }],
      });
    expect(build).toThrow(ConfigError);
    try {
      build();
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        expect.stringMatching(/^deployments\.0 \(tiny\): .*Llama-3\.1-70B.*L4/),
      ]);
    }
  });
});
