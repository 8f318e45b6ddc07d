import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { compose } from "../../src/compose.js";
import { HARDWARE_CATALOG } from "../../src/config/catalog/hardware.js";
import { parseConfig } from "../../src/config/load.js";
import { VirtualClock } from "../../src/core/clock.js";
import { parsePrometheusText } from "../helpers/prometheus.js";

type Samples = ReturnType<typeof parsePrometheusText>;
const sum = (samples: Samples, name: string, filter: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(filter).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);

/**
 * Cost accounting adds up over a run on the virtual clock: every replica's spend (uptime x GPUs x price) is its
 * busy cost plus its idle cost, and the busy cost is exactly what the responses were charged (no request was
 * aborted); revenue is the tokens at list price; cache hits add revenue and no cost.
 */
describe("cost accounting over a run", () => {
  it("spend = busy + idle, and the responses' costs add up to the busy cost", async () => {
    const clock = new VirtualClock();
    const composed = compose({
      config: parseConfig({
        guard: { enabled: false },
        models: [
          {
            id: "llama",
            profile: "Llama-3.1-8B",
            pricing: { inputPerMillionUsd: 0.2, outputPerMillionUsd: 0.6 },
          },
        ],
        deployments: [
          {
            name: "h100",
            model: "llama",
            replicas: 2,
            backend: {
              type: "simulated",
              hardware: "H100-SXM-80GB",
              output: { lengthMedian: 40, lengthSigma: 0.5 },
            },
          },
          {
            name: "a100-tp2",
            model: "llama",
            replicas: 1,
            backend: { type: "simulated", hardware: "A100-80GB", tensorParallel: 2 },
          },
        ],
      }),
      clock,
      logger: pino({ level: "silent" }),
      processMetrics: false,
    });
    const post = (content: string, temperature = 1) =>
      Promise.resolve(
        composed.app.request("/v1/chat/completions", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            model: "llama",
            max_tokens: 64,
            temperature,
            messages: [{ role: "user", content }],
          }),
        }),
      ).then((r) => r.json() as Promise<{ usage: { prompt_tokens: number; completion_tokens: number } }>);
    // Two waves of concurrent requests with idle time around them, then a repeated deterministic one (a hit).
    await clock.advance(5_000);
    const waves: Array<Promise<{ usage: { prompt_tokens: number; completion_tokens: number } }>> = [];
    for (let i = 0; i < 24; i++) waves.push(post(`question number ${i} about GPUs`));
    await clock.runUntilIdle();
    await clock.advance(20_000);
    for (let i = 0; i < 12; i++) waves.push(post(`second wave ${i}`));
    waves.push(post("deterministic", 0));
    await clock.runUntilIdle();
    const answers = await Promise.all(waves);
    const hit = post("deterministic", 0);
    await clock.runUntilIdle();
    const hitUsage = (await hit).usage;
    await clock.advance(10_000);

    const samples = parsePrometheusText(await composed.metrics.registry.metrics());
    const spend = sum(samples, "tollgate_replica_spend_usd_total");
    const idle = sum(samples, "tollgate_replica_idle_cost_usd_total");
    let busyCost = 0;
    for (const s of samples.filter((x) => x.name === "tollgate_replica_busy_seconds_total")) {
      const gpu = s.labels["deployment"] === "h100" ? "H100-SXM-80GB" : "A100-80GB";
      const gpus = s.labels["deployment"] === "h100" ? 1 : 2;
      busyCost += (s.value * gpus * HARDWARE_CATALOG[gpu]!.pricePerGpuHourUsd) / 3600;
    }
    const charged = sum(samples, "tollgate_cost_usd_total");
    expect(spend).toBeGreaterThan(0);
    expect(busyCost).toBeGreaterThan(0);
    expect(idle).toBeGreaterThan(busyCost);
    // Spend is accounted for to the micro-dollar: what the GPUs cost = busy + idle.
    expect(spend).toBeCloseTo(busyCost + idle, 9);
    // Every busy GPU-second was charged to a response.
    expect(charged).toBeCloseTo(busyCost, 9);
    // Revenue: tokens at list price, the cache hit included (it costs nothing).
    const tokens = answers.reduce(
      (t, a) => ({ p: t.p + a.usage.prompt_tokens, c: t.c + a.usage.completion_tokens }),
      { p: hitUsage.prompt_tokens, c: hitUsage.completion_tokens },
    );
    expect(sum(samples, "tollgate_revenue_usd_total")).toBeCloseTo(
      (tokens.p * 0.2 + tokens.c * 0.6) / 1e6,
      12,
    );
    expect(sum(samples, "tollgate_cost_usd_total", { deployment: "cache" })).toBe(0);
    expect(sum(samples, "tollgate_response_revenue_usd_count")).toBe(answers.length + 1);
    await composed.close();
  });
});
