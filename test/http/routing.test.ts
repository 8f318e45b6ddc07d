import { describe, expect, it } from "vitest";
import { routingSchema } from "../../src/config/schema.js";
import { GatewayError } from "../../src/core/errors.js";
import { appHarness } from "../helpers/app-harness.js";
import { json } from "../helpers/json.js";
import { parsePrometheusText, sampleValue } from "../helpers/prometheus.js";
import { type Script, ScriptedBackend } from "../helpers/scripted-backend.js";

const OK: Script = { words: ["Hello", "there", "friend"], ttftMs: 20, itlMs: 5 };
const FAILING: Script = {
  ...OK,
  failAfter: 0,
  failWith: new GatewayError("backend_error", "replica exploded"),
};
const routing = (overrides: Record<string, unknown> = {}) => routingSchema.parse(overrides);

/** Model "m" on replicas a/0, b/0, c/0 (one per deployment), optionally with a fallback model "f" on f/0. */
function fleet(
  scripts: Record<string, Script>,
  options: { routing?: Record<string, unknown>; fallback?: boolean; aliases?: string[] } = {},
) {
  const h = appHarness({
    models: [
      {
        id: "m",
        ownedBy: "tollgate",
        contextLength: 4096,
        aliases: options.aliases ?? [],
        fallbacks: options.fallback ? ["f"] : [],
        routing: routing({ policy: "round-robin", ...options.routing }),
      },
      ...(options.fallback
        ? [{ id: "f", ownedBy: "tollgate", contextLength: 4096, routing: routing({ policy: "round-robin" }) }]
        : []),
    ],
    backends: (clock) =>
      Object.entries(scripts).map(
        ([deployment, script]) =>
          new ScriptedBackend({
            clock,
            model: deployment === "f" ? "f" : "m",
            deployment,
            script: { ...script },
          }),
      ),
  });
  const byName = (name: string) => h.backends.find((b) => b.replica.deployment === name) as ScriptedBackend;
  const chat = (extra: Record<string, unknown> = {}) =>
    h.post("/v1/chat/completions", { model: "m", messages: [{ role: "user", content: "hi" }], ...extra });
  const metric = async (name: string, labels: Record<string, string> = {}) =>
    sampleValue(parsePrometheusText(await h.metrics.registry.metrics()), name, labels);
  return { ...h, byName, chat, metric };
}

describe("retries", () => {
  it("retries a failure before the first token on another replica; the client sees only success", async () => {
    const f = fleet({ a: FAILING, b: OK });
    const res = await f.chat();
    expect(res.status).toBe(200);
    expect(res.headers.get("x-tollgate-replica")).toBe("b/0");
    expect((await json(res)).choices[0].message.content).toBe("Hello there friend");
    expect(await f.metric("tollgate_retries_total", { model: "m" })).toBe(1);
    expect(await f.metric("tollgate_generations_total", { deployment: "a", outcome: "backend_error" })).toBe(
      1,
    );
  });

  it("never retries once a token has been streamed: the stream ends with an error event", async () => {
    const f = fleet({
      a: { ...OK, failAfter: 2, failWith: new GatewayError("backend_error", "died mid-answer") },
      b: OK,
    });
    const res = await f.chat({ stream: true });
    expect(res.status).toBe(200);
    const text = await f.text(res);
    expect(text).toContain('"content":"Hello"');
    expect(text).toContain('"code":"backend_error"');
    expect(text).not.toContain("[DONE]");
    expect(await f.metric("tollgate_retries_total")).toBe(0);
    expect(f.byName("b").requests).toHaveLength(0);
  });

  it("does not retry client errors", async () => {
    const f = fleet({
      a: { ...OK, failAfter: 0, failWith: new GatewayError("invalid_request", "bad prompt") },
      b: OK,
    });
    const res = await f.chat();
    expect(res.status).toBe(400);
    expect(f.byName("b").requests).toHaveLength(0);
  });

  it("retries a replica that sends no first token within the timeout", async () => {
    const f = fleet({ a: { ...OK, hang: true }, b: OK }, { routing: { timeouts: { firstTokenMs: 500 } } });
    const res = await f.chat();
    expect(res.status).toBe(200);
    expect(res.headers.get("x-tollgate-replica")).toBe("b/0");
    expect(f.byName("a").running).toBe(0);
  });

  it("caps retries with the retry budget when every replica fails: no retry storm", async () => {
    const f = fleet(
      { a: FAILING, b: FAILING, c: FAILING },
      {
        routing: {
          retries: { maxAttempts: 3, budgetRatio: 0.2, budgetMinPerSecond: 1, budgetWindowMs: 10_000 },
          // Keep the breakers out of it: this test is about the budget alone.
          breaker: { consecutiveFailures: 1000, minRequests: 1000 },
        },
      },
    );
    const responses: Response[] = [];
    for (let i = 0; i < 50; i++) responses.push(await f.chat());
    const statuses = responses.map((r) => r.status);
    expect(statuses.every((s) => s === 502)).toBe(true);
    const attempts = f.backends.reduce((n, b) => n + (b as ScriptedBackend).requests.length, 0);
    const retries = await f.metric("tollgate_retries_total");
    // Budget over the window: max(1/s x 10 s, 0.2 x 50 requests) = 10 retries, not 2 x 50.
    expect(retries).toBeLessThanOrEqual(10);
    expect(attempts).toBeLessThanOrEqual(50 + retries);
    expect(await f.metric("tollgate_retries_refused_total")).toBeGreaterThan(0);
  });
});

describe("circuit breaker", () => {
  it("turns a full outage into quick 503s with Retry-After once every breaker is open", async () => {
    const f = fleet({ a: FAILING, b: FAILING, c: FAILING });
    const responses: Response[] = [];
    for (let i = 0; i < 20; i++) responses.push(await f.chat());
    expect(responses.every((r) => r.status === 502 || r.status === 503)).toBe(true);
    const last = responses.at(-1)!;
    expect(last.status).toBe(503);
    expect(last.headers.get("retry-after")).toBe("1");
    const attempts = f.backends.reduce((n, b) => n + (b as ScriptedBackend).requests.length, 0);
    // 3 replicas x 5 consecutive failures open every breaker; after that nothing reaches them.
    expect(attempts).toBe(15);
  });

  it("opens after consecutive failures, keeps traffic off the replica, then probes and closes", async () => {
    const f = fleet(
      { a: FAILING, b: OK },
      {
        routing: { retries: { maxAttempts: 2 }, breaker: { consecutiveFailures: 3, openMs: 5_000 } },
      },
    );
    for (let i = 0; i < 8; i++) expect((await f.chat()).status).toBe(200);
    const a = f.byName("a");
    // Round-robin sends every other request to a until 3 failures open its breaker.
    expect(a.requests).toHaveLength(3);
    expect(await f.metric("tollgate_replica_breaker_state", { replica: "a/0" })).toBe(2);
    a.script = { ...OK };
    await f.clock.advance(5_000);
    for (let i = 0; i < 4; i++) expect((await f.chat()).status).toBe(200);
    expect(a.requests.length).toBeGreaterThan(3);
    expect(await f.metric("tollgate_replica_breaker_state", { replica: "a/0" })).toBe(0);
  });
});

describe("fallbacks and aliases", () => {
  it("falls back to the next model when the pool cannot serve, and says which model answered", async () => {
    const f = fleet({ a: OK, f: OK }, { fallback: true });
    f.byName("a").ready = false;
    const res = await f.chat();
    expect(res.status).toBe(200);
    expect(res.headers.get("x-tollgate-model")).toBe("f");
    expect((await json(res)).model).toBe("f");
    expect(await f.metric("tollgate_fallbacks_total", { model: "m", fallback: "f" })).toBe(1);
  });

  it("names the fallback model in streamed chunks too", async () => {
    const f = fleet({ a: FAILING, f: OK }, { fallback: true, routing: { retries: { maxAttempts: 1 } } });
    const res = await f.chat({ stream: true });
    expect(res.headers.get("x-tollgate-model")).toBe("f");
    expect(await f.text(res)).toContain('"model":"f"');
  });

  it("resolves aliases to their model", async () => {
    const f = fleet({ a: OK }, { aliases: ["gpt-4o-mini"] });
    const res = await f.post("/v1/chat/completions", {
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "x" }],
    });
    expect(res.status).toBe(200);
    expect((await json(res)).model).toBe("m");
    expect((await json(await f.request("/v1/models/gpt-4o-mini"))).id).toBe("m");
  });
});

describe("canary and shadow", () => {
  function split(options: { canaryShare?: number; shadowShare?: number; shadowScript?: Script }) {
    const model = (id: string, extra: Record<string, unknown> = {}) => ({
      id,
      ownedBy: "tollgate",
      contextLength: 4096,
      routing: routing(),
      ...extra,
    });
    const h = appHarness({
      models: [
        model("m", {
          ...(options.canaryShare !== undefined && { canary: [{ model: "v2", share: options.canaryShare }] }),
          ...(options.shadowShare !== undefined && { shadow: { model: "s", share: options.shadowShare } }),
        }),
        model("v2"),
        model("s"),
      ],
      backends: (clock) => [
        new ScriptedBackend({ clock, model: "m", deployment: "m", script: OK }),
        new ScriptedBackend({ clock, model: "v2", deployment: "v2", script: OK }),
        new ScriptedBackend({ clock, model: "s", deployment: "s", script: options.shadowScript ?? OK }),
      ],
    });
    const count = (name: string) =>
      (h.backends.find((b) => b.replica.deployment === name) as ScriptedBackend).requests.length;
    const chat = () =>
      h.post("/v1/chat/completions", { model: "m", messages: [{ role: "user", content: "hi" }] });
    return { ...h, count, chat };
  }

  it("sends the configured share of traffic to the canary and says so", async () => {
    const f = split({ canaryShare: 0.25 });
    const models: string[] = [];
    for (let i = 0; i < 200; i++) models.push((await f.chat()).headers.get("x-tollgate-model") ?? "");
    const toCanary = models.filter((m) => m === "v2").length;
    expect(toCanary).toBe(f.count("v2"));
    expect(toCanary).toBeGreaterThan(30);
    expect(toCanary).toBeLessThan(70);
  });

  it("mirrors requests to the shadow without affecting the client, even when the shadow fails", async () => {
    const f = split({ shadowShare: 1, shadowScript: FAILING });
    for (let i = 0; i < 5; i++) {
      const res = await f.chat();
      expect(res.status).toBe(200);
      expect(res.headers.get("x-tollgate-model")).toBe("m");
    }
    await f.clock.runUntilIdle();
    expect(f.count("s")).toBeGreaterThanOrEqual(5);
    const text = await f.metrics.registry.metrics();
    const metrics = parsePrometheusText(text);
    expect(
      sampleValue(metrics, "tollgate_shadow_requests_total", {
        model: "m",
        shadow: "s",
        outcome: "backend_error",
      }),
    ).toBe(5);
    expect(sampleValue(metrics, "tollgate_generations_total", { model: "s" })).toBe(0);
  });
});
