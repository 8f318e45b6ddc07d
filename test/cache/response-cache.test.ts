import { describe, expect, it } from "vitest";
import type { ModelCachePolicy } from "../../src/cache/response-cache.js";
import { routingSchema } from "../../src/config/schema.js";
import { GatewayError } from "../../src/core/errors.js";
import { FallbackStore } from "../../src/store/fallback-store.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import type { Store } from "../../src/store/store.js";
import { appHarness } from "../helpers/app-harness.js";
import { json } from "../helpers/json.js";
import { parsePrometheusText, sampleValue } from "../helpers/prometheus.js";
import { type Script, ScriptedBackend } from "../helpers/scripted-backend.js";

const OK: Script = { words: ["Hello", "there", "friend"], ttftMs: 40, itlMs: 10, gpuSecondsPerToken: 0.5 };
const POLICY: ModelCachePolicy = { mode: "deterministic", ttlMs: 60_000, replay: "instant" };

function cached(
  options: {
    policy?: Partial<ModelCachePolicy>;
    script?: Script;
    fallback?: boolean;
    coalesce?: boolean;
    store?: (clock: import("../../src/core/clock.js").VirtualClock) => Store;
  } = {},
) {
  const routing = routingSchema.parse({ policy: "round-robin", retries: { maxAttempts: 1 } });
  const h = appHarness({
    models: [
      { id: "m", ownedBy: "t", contextLength: 4096, routing, fallbacks: options.fallback ? ["f"] : [] },
      ...(options.fallback ? [{ id: "f", ownedBy: "t", contextLength: 4096, routing }] : []),
    ],
    backends: (clock) => [
      new ScriptedBackend({ clock, model: "m", deployment: "d", script: { ...(options.script ?? OK) } }),
      ...(options.fallback
        ? [new ScriptedBackend({ clock, model: "f", deployment: "fd", script: { ...OK } })]
        : []),
    ],
    cache: {
      models: { m: { ...POLICY, ...options.policy }, f: POLICY },
      ...(options.coalesce !== undefined && { coalesce: options.coalesce }),
      ...(options.store && { store: options.store }),
    },
  });
  const backend = h.backends[0] as ScriptedBackend;
  const chat = (extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    h.post(
      "/v1/chat/completions",
      { model: "m", messages: [{ role: "user", content: "hi" }], temperature: 0, ...extra },
      headers,
    );
  const metric = async (name: string, labels: Record<string, string> = {}) =>
    sampleValue(parsePrometheusText(await h.metrics.registry.metrics()), name, labels);
  return { ...h, backend, chat, metric };
}

describe("response cache over HTTP (virtual clock)", () => {
  it("answers the second identical deterministic request from the cache, with the same content and usage", async () => {
    const h = cached();
    const first = await h.chat();
    expect(first.headers.get("x-cache")).toBe("MISS");
    const a = await json(first);
    const startedMs = h.clock.now();
    const second = await h.chat();
    expect(second.headers.get("x-cache")).toBe("HIT");
    expect(second.headers.get("x-tollgate-cache-kind")).toBe("exact");
    expect(second.headers.get("age")).toBe("0");
    expect(second.headers.get("x-tollgate-cost-usd")).toBe("0.00000");
    const b = await json(second);
    expect(b.choices[0]!.message.content).toBe(a.choices[0]!.message.content);
    expect(b.choices[0]!.message.content).toBe("Hello there friend");
    expect(b.usage).toEqual(a.usage);
    expect(h.backend.requests).toHaveLength(1);
    // Served without the backend's 40 ms TTFT (the harness advances in 10 ms steps).
    expect(h.clock.now() - startedMs).toBeLessThanOrEqual(10);
    expect(
      await h.metric("tollgate_cache_requests_total", { model: "m", kind: "exact", result: "hit" }),
    ).toBe(1);
    expect(
      await h.metric("tollgate_cache_requests_total", { model: "m", kind: "exact", result: "miss" }),
    ).toBe(1);
    // 3 tokens x 0.5 GPU-s at $3.60/GPU-hour.
    expect(await h.metric("tollgate_cache_saved_gpu_seconds_total", { model: "m", kind: "exact" })).toBe(1.5);
    expect(await h.metric("tollgate_cache_saved_cost_usd_total", { model: "m", kind: "exact" })).toBeCloseTo(
      0.0015,
      9,
    );
    expect(
      await h.metric("tollgate_cache_saved_generation_tokens_total", { model: "m", kind: "exact" }),
    ).toBe(3);
    expect(await h.metric("tollgate_response_cost_usd_count", { model: "m", deployment: "cache" })).toBe(1);
    expect(await h.metric("tollgate_gpu_seconds_total", { model: "m", deployment: "d" })).toBe(1.5);
  });

  it("replays a stored answer as a proper SSE stream, with the usage chunk", async () => {
    const h = cached();
    await json(await h.chat());
    const res = await h.chat({ stream: true, stream_options: { include_usage: true } });
    expect(res.headers.get("x-cache")).toBe("HIT");
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const body = await h.text(res);
    const chunks = body
      .split("\n\n")
      .filter((l) => l.startsWith("data: {"))
      .map((l) => JSON.parse(l.slice(6)));
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
    expect(text).toBe("Hello there friend");
    expect(chunks.filter((c) => (c.choices[0]?.delta?.content ?? "") !== "")).toHaveLength(3);
    expect(chunks.at(-1).usage.completion_tokens).toBe(3);
    expect(body.trimEnd().endsWith("data: [DONE]")).toBe(true);
    expect(h.backend.requests).toHaveLength(1);
  });

  it("paces a replay like the original when replay is 'original'", async () => {
    const h = cached({ policy: { replay: "original" } });
    await json(await h.chat());
    const startedMs = h.clock.now();
    const res = await h.chat();
    expect(res.headers.get("x-cache")).toBe("HIT");
    // Recorded gaps: 10 ms, 10 ms after the first token (TTFT is not replayed).
    expect(h.clock.now() - startedMs).toBeGreaterThanOrEqual(20);
  });

  it("reports the age of a stored answer and forgets it after the TTL", async () => {
    const h = cached({ policy: { ttlMs: 10_000 } });
    await json(await h.chat());
    await h.clock.advance(4_000);
    const res = await h.chat();
    expect(res.headers.get("age")).toBe("4");
    await h.clock.advance(7_000);
    expect((await h.chat()).headers.get("x-cache")).toBe("MISS");
    expect(h.backend.requests).toHaveLength(2);
  });

  it("does not cache non-deterministic requests unless the model's mode is 'all'", async () => {
    const h = cached();
    for (let i = 0; i < 2; i++) {
      const res = await h.chat({ temperature: 0.7 });
      expect(res.headers.get("x-cache")).toBe("BYPASS");
    }
    expect(h.backend.requests).toHaveLength(2);
    const seeded = cached();
    await json(await seeded.chat({ temperature: 0.7, seed: 5 }));
    expect((await seeded.chat({ temperature: 0.7, seed: 5 })).headers.get("x-cache")).toBe("HIT");
    const all = cached({ policy: { mode: "all" } });
    await json(await all.chat({ temperature: 0.7 }));
    expect((await all.chat({ temperature: 0.7 })).headers.get("x-cache")).toBe("HIT");
    const off = cached({ policy: { mode: "off" } });
    await json(await off.chat());
    expect((await off.chat()).headers.get("x-cache")).toBe("BYPASS");
  });

  it("honours Cache-Control: no-store (bypass, nothing stored) and no-cache (regenerate, store the new answer)", async () => {
    const h = cached();
    const bypass = await h.chat({}, { "cache-control": "no-store" });
    expect(bypass.headers.get("x-cache")).toBe("BYPASS");
    expect((await h.chat()).headers.get("x-cache")).toBe("MISS");
    const refresh = await h.chat({}, { "cache-control": "no-cache" });
    expect(refresh.headers.get("x-cache")).toBe("MISS");
    expect(h.backend.requests).toHaveLength(3);
    expect((await h.chat()).headers.get("x-cache")).toBe("HIT");
    expect(
      await h.metric("tollgate_cache_requests_total", { model: "m", kind: "exact", result: "refresh" }),
    ).toBe(1);
  });

  it("keys on every parameter that changes the answer, and not on the user", async () => {
    const h = cached();
    await json(await h.chat({ user: "alice" }));
    expect((await h.chat({ user: "bob" })).headers.get("x-cache")).toBe("HIT");
    expect((await h.chat({ max_tokens: 2 })).headers.get("x-cache")).toBe("MISS");
    expect(
      (await h.chat({ tools: [{ type: "function", function: { name: "f" } }] })).headers.get("x-cache"),
    ).toBe("MISS");
    expect((await h.chat({ messages: [{ role: "user", content: "hi!" }] })).headers.get("x-cache")).toBe(
      "MISS",
    );
  });

  it("never stores errors or generations that failed midway", async () => {
    const h = cached({
      script: { ...OK, failAfter: 2, failWith: new GatewayError("backend_error", "replica exploded") },
    });
    const failed = await h.chat({ stream: true });
    expect(await h.text(failed)).toContain("replica exploded");
    h.backend.script = { ...OK, failAfter: 0, failWith: new GatewayError("backend_error", "down") };
    expect((await h.chat()).status).toBe(502);
    h.backend.script = { ...OK };
    expect((await h.chat()).headers.get("x-cache")).toBe("MISS");
    expect((await h.chat()).headers.get("x-cache")).toBe("HIT");
  });

  it("does not store a fallback model's answer under the requested model's key", async () => {
    const h = cached({
      fallback: true,
      script: { ...OK, failAfter: 0, failWith: new GatewayError("backend_error", "x") },
    });
    const res = await h.chat();
    expect(res.status).toBe(200);
    expect((await json(res)).model).toBe("f");
    expect((await h.chat()).headers.get("x-cache")).toBe("MISS");
    expect(await h.metric("tollgate_cache_writes_total", { model: "m", outcome: "not_cacheable" })).toBe(2);
  });

  it("coalesces 50 concurrent identical requests into one backend generation", async () => {
    const h = cached();
    const responses = Array.from({ length: 50 }, () => h.chat());
    const bodies = await Promise.all(responses.map(async (r) => json(await r)));
    expect(h.backend.requests).toHaveLength(1);
    for (const b of bodies) expect(b.choices[0]!.message.content).toBe("Hello there friend");
    const statuses = (await Promise.all(responses)).map((r) => r.headers.get("x-cache"));
    expect(statuses.filter((s) => s === "MISS")).toHaveLength(1);
    expect(statuses.filter((s) => s === "HIT")).toHaveLength(49);
    expect(
      await h.metric("tollgate_cache_requests_total", { model: "m", kind: "exact", result: "coalesced" }),
    ).toBe(49);
    expect(
      await h.metric("tollgate_cache_saved_generation_tokens_total", { model: "m", kind: "coalesced" }),
    ).toBe(147);
  });

  it("keeps serving the followers when the request that started the generation is cancelled", async () => {
    const h = cached({ script: { ...OK, itlMs: 50 } });
    const leader = new AbortController();
    const leading = h.app.request("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "m",
        messages: [{ role: "user", content: "hi" }],
        temperature: 0,
        stream: true,
      }),
      signal: leader.signal,
    });
    await h.clock.advance(1);
    const follower = h.chat({ stream: true });
    await h.clock.advance(60);
    leader.abort();
    await Promise.resolve(leading)
      .then((r) => r.body?.cancel())
      .catch(() => undefined);
    const res = await follower;
    const body = await h.text(res);
    expect(body).toContain("friend");
    expect(body).toContain("[DONE]");
    expect(h.backend.requests).toHaveLength(1);
    // The generation finished for the follower, so it was stored.
    expect((await h.chat()).headers.get("x-cache")).toBe("HIT");
  });

  it("does not coalesce when coalescing is off", async () => {
    const h = cached({ coalesce: false });
    await Promise.all([h.chat(), h.chat(), h.chat()]);
    expect(h.backend.requests).toHaveLength(3);
  });

  it("serves as usual when the store fails: every request is a miss, nothing crashes", async () => {
    const broken: Store = {
      kind: "redis",
      get: () => Promise.reject(new Error("ECONNREFUSED")),
      set: () => Promise.reject(new Error("ECONNREFUSED")),
      setIfAbsent: () => Promise.reject(new Error("ECONNREFUSED")),
      delete: () => Promise.reject(new Error("ECONNREFUSED")),
      increment: () => Promise.reject(new Error("ECONNREFUSED")),
      takeTokens: () => Promise.reject(new Error("ECONNREFUSED")),
      hold: () => Promise.reject(new Error("ECONNREFUSED")),
      stats: () => ({ errors: 0, connected: false }),
      close: () => Promise.resolve(),
    };
    const raw = cached({ store: () => broken });
    for (let i = 0; i < 2; i++) expect((await raw.chat()).headers.get("x-cache")).toBe("MISS");
    expect(await raw.metric("tollgate_cache_writes_total", { model: "m", outcome: "error" })).toBe(2);
    // With the fallback store in front (as composed), the local memory takes over and hits resume.
    const changes: boolean[] = [];
    const fallback = cached({
      store: (clock) =>
        new FallbackStore({
          primary: broken,
          local: new MemoryStore({ maxBytes: 1 << 20, clock }),
          onStateChange: (up) => changes.push(up),
        }),
    });
    expect((await fallback.chat()).headers.get("x-cache")).toBe("MISS");
    expect((await fallback.chat()).headers.get("x-cache")).toBe("HIT");
    expect(changes).toEqual([false]);
  });

  it("caches each prompt of a completions request separately", async () => {
    const h = cached();
    const post = (prompt: string | string[]) =>
      h.post("/v1/completions", { model: "m", prompt, temperature: 0, max_tokens: 3 });
    expect((await post("a")).headers.get("x-cache")).toBe("MISS");
    expect((await post(["a", "b"])).headers.get("x-cache")).toBe("MISS");
    const both = await post(["b", "a"]);
    expect(both.headers.get("x-cache")).toBe("HIT");
    const body = await json(both);
    expect(body.choices.map((c: { index: number }) => c.index)).toEqual([0, 1]);
    expect(h.backend.requests).toHaveLength(2);
  });

  it("serves a paraphrased question from the semantic cache when the model opts in", async () => {
    const h = cached({ policy: { semantic: { threshold: 0.85, maxEntries: 100 } } });
    const ask = (content: string, system = "Be brief.") =>
      h.chat({
        messages: [
          { role: "system", content: system },
          { role: "user", content },
        ],
      });
    expect((await ask("What is the capital of France?")).headers.get("x-cache")).toBe("MISS");
    const similar = await ask("what is the capital of france");
    expect(similar.headers.get("x-cache")).toBe("HIT");
    expect(similar.headers.get("x-tollgate-cache-kind")).toBe("semantic");
    expect(Number(similar.headers.get("x-tollgate-cache-similarity"))).toBeGreaterThanOrEqual(0.85);
    const body = await json(similar);
    expect(body.choices[0]!.message.content).toBe("Hello there friend");
    // The earlier conversation must match exactly: another system prompt is another namespace.
    expect((await ask("What is the capital of France?", "Be verbose.")).headers.get("x-cache")).toBe("MISS");
    expect((await ask("How do I sort a list in Python?")).headers.get("x-cache")).toBe("MISS");
    expect(h.backend.requests).toHaveLength(3);
    expect(
      await h.metric("tollgate_cache_requests_total", { model: "m", kind: "semantic", result: "hit" }),
    ).toBe(1);
    expect(await h.metric("tollgate_cache_semantic_index_entries", { model: "m" })).toBe(3);
  });

  it("keeps prompts longer than maxTextChars out of the semantic index (embedding is linear in the text)", async () => {
    const h = cached({ policy: { semantic: { threshold: 0.85, maxEntries: 100, maxTextChars: 50 } } });
    const long = "Tell me about the capital of France and its history, please.";
    expect(long.length).toBeGreaterThan(50);
    expect((await h.chat({ messages: [{ role: "user", content: long }] })).headers.get("x-cache")).toBe(
      "MISS",
    );
    expect(await h.metric("tollgate_cache_semantic_index_entries", { model: "m" })).toBe(0);
    const reworded = await h.chat({ messages: [{ role: "user", content: long.toLowerCase() }] });
    expect(reworded.headers.get("x-cache")).toBe("MISS");
    // The exact cache still answers a long prompt.
    expect((await h.chat({ messages: [{ role: "user", content: long }] })).headers.get("x-cache")).toBe(
      "HIT",
    );
    expect(h.backend.requests).toHaveLength(2);
  });
});
