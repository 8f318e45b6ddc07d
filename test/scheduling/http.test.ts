import { describe, expect, it } from "vitest";
import { routingSchema } from "../../src/config/schema.js";
import { appHarness } from "../helpers/app-harness.js";
import { json } from "../helpers/json.js";
import { parsePrometheusText, sampleValue } from "../helpers/prometheus.js";
import { type Script, ScriptedBackend } from "../helpers/scripted-backend.js";

/** 4 tokens: first after 100 ms, then every 20 ms (TPOT 20 ms, e2e 160 ms). */
const FAST: Script = { words: ["a", "b", "c", "d"], ttftMs: 100, itlMs: 20 };

function served(
  options: {
    script?: Script;
    maxConcurrentPerReplica?: number;
    degrade?: boolean;
    defaultClass?: string;
  } = {},
) {
  const routing = routingSchema.parse({ retries: { maxAttempts: 1 } });
  const h = appHarness({
    models: [
      { id: "m", ownedBy: "t", contextLength: 4096, routing },
      { id: "small", ownedBy: "t", contextLength: 4096, routing },
    ],
    backends: (clock) => [
      new ScriptedBackend({ clock, model: "m", deployment: "big", script: { ...(options.script ?? FAST) } }),
      new ScriptedBackend({ clock, model: "small", deployment: "small", script: { ...FAST, ttftMs: 10 } }),
    ],
    scheduling: {
      config: { defaultClass: options.defaultClass ?? "standard" },
      models: {
        m: {
          maxConcurrentPerReplica: options.maxConcurrentPerReplica ?? 32,
          ...(options.degrade && { degradeTo: "small" }),
        },
      },
    },
  });
  const chat = (headers: Record<string, string> = {}, extra: Record<string, unknown> = {}) =>
    h.post(
      "/v1/chat/completions",
      { model: "m", messages: [{ role: "user", content: "hi" }], ...extra },
      headers,
    );
  const metric = async (name: string, labels: Record<string, string>) =>
    sampleValue(parsePrometheusText(await h.metrics.registry.metrics()), name, labels);
  return { ...h, chat, metric };
}

describe("SLO classes over HTTP", () => {
  it("reports the class and the verdict of a JSON response, and counts both", async () => {
    const h = served();
    const res = await h.chat();
    expect(res.status).toBe(200);
    expect(res.headers.get("x-tollgate-slo-class")).toBe("standard");
    expect(res.headers.get("x-tollgate-slo-met")).toBe("true");
    expect(
      await h.metric("tollgate_slo_requests_total", {
        model: "m",
        class: "standard",
        target: "all",
        result: "met",
      }),
    ).toBe(1);
    // Interactive's TTFT target is 500 ms: a 600 ms first token misses it, and only it.
    const slow = served({ script: { ...FAST, ttftMs: 600 }, defaultClass: "interactive" });
    const late = await slow.chat();
    expect(late.status).toBe(200);
    expect(late.headers.get("x-tollgate-slo-met")).toBe("false");
    const missed = { model: "m", class: "interactive" };
    expect(
      await slow.metric("tollgate_slo_requests_total", { ...missed, target: "ttft", result: "missed" }),
    ).toBe(1);
    expect(
      await slow.metric("tollgate_slo_requests_total", { ...missed, target: "tpot", result: "met" }),
    ).toBe(1);
    expect(
      await slow.metric("tollgate_slo_requests_total", { ...missed, target: "all", result: "missed" }),
    ).toBe(1);
    // The same response is fine for the batch class.
    expect((await slow.chat({ "x-tollgate-slo-class": "batch" })).headers.get("x-tollgate-slo-met")).toBe(
      "true",
    );
  });

  it("lets a client lower its class but never raise it, and rejects unknown classes with a 400", async () => {
    const h = served();
    expect((await h.chat({ "x-tollgate-slo-class": "batch" })).headers.get("x-tollgate-slo-class")).toBe(
      "batch",
    );
    expect(
      (await h.chat({ "x-tollgate-slo-class": "interactive" })).headers.get("x-tollgate-slo-class"),
    ).toBe("standard");
    const bad = await h.chat({ "x-tollgate-slo-class": "platinum" });
    expect(bad.status).toBe(400);
    const body = await json(bad);
    expect(body.error.param).toBe("x-tollgate-slo-class");
    expect(body.error.message).toContain("platinum");
  });

  it("puts the verdict in the final chunk of a stream, in a field OpenAI clients ignore", async () => {
    const h = served();
    const res = await h.chat({}, { stream: true });
    const chunks = (await h.text(res))
      .split("\n\n")
      .filter((l) => l.startsWith("data: {"))
      .map((l) => JSON.parse(l.slice(6)));
    const last = chunks.at(-1);
    expect(last.choices[0].finish_reason).toBe("stop");
    expect(last.tollgate).toEqual({
      slo_class: "standard",
      slo_met: true,
      ttft_met: true,
      tpot_met: true,
      e2e_met: true,
    });
    expect(chunks.slice(0, -1).every((c) => c.tollgate === undefined)).toBe(true);
    const withUsage = await h.chat({}, { stream: true, stream_options: { include_usage: true } });
    const final = (await h.text(withUsage))
      .split("\n\n")
      .filter((l) => l.startsWith("data: {"))
      .map((l) => JSON.parse(l.slice(6)))
      .at(-1);
    expect(final.usage.completion_tokens).toBe(4);
    expect(final.tollgate.slo_met).toBe(true);
  });

  it("sheds the interactive request it cannot serve in time, while a batch request waits its turn", async () => {
    // One slot; each request takes about 1 s. Clients are interactive by default here.
    const h = served({
      script: { ...FAST, ttftMs: 900, itlMs: 30 },
      maxConcurrentPerReplica: 1,
      defaultClass: "interactive",
    });
    expect((await h.chat()).status).toBe(200);
    const busy = h.chat();
    await h.clock.advance(1);
    const interactive = await h.chat();
    expect(interactive.status).toBe(503);
    expect(interactive.headers.get("x-tollgate-slo-class")).toBe("interactive");
    const batch = await h.chat({ "x-tollgate-slo-class": "batch" });
    expect(batch.status).toBe(200);
    expect(batch.headers.get("x-tollgate-slo-met")).toBe("true");
    expect((await busy).status).toBe(200);
    expect(
      await h.metric("tollgate_admission_total", {
        model: "m",
        class: "batch",
        decision: "admitted",
        reason: "ok",
      }),
    ).toBe(1);
    expect(await h.metric("tollgate_queue_time_seconds_count", { model: "m", class: "batch" })).toBe(1);
  });
});

describe("admission control over HTTP", () => {
  it("answers 503 overloaded with Retry-After when the predicted wait misses the target, degrading when configured", async () => {
    const slowScript: Script = { ...FAST, ttftMs: 1_500, itlMs: 100 };
    const plain = served({ script: slowScript, maxConcurrentPerReplica: 1 });
    // Warm the service-time estimate: 1.8 s per request, 1.5 s to first token.
    expect((await plain.chat()).status).toBe(200);
    const running = plain.chat();
    await plain.clock.advance(1);
    const res = await plain.chat();
    expect(res.status).toBe(503);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await json(res)).error.code).toBe("overloaded");
    expect(
      await plain.metric("tollgate_admission_total", {
        model: "m",
        class: "standard",
        decision: "shed",
        reason: "predicted_miss",
      }),
    ).toBe(1);
    expect((await running).status).toBe(200);

    const degrading = served({ script: slowScript, maxConcurrentPerReplica: 1, degrade: true });
    expect((await degrading.chat()).status).toBe(200);
    const busy = degrading.chat();
    await degrading.clock.advance(1);
    const degraded = await degrading.chat();
    expect(degraded.status).toBe(200);
    expect((await json(degraded)).model).toBe("small");
    expect(
      await degrading.metric("tollgate_admission_total", {
        model: "m",
        class: "standard",
        decision: "degraded",
        reason: "predicted_miss",
      }),
    ).toBe(1);
    await busy;
  });
});
