import { describe, expect, it } from "vitest";
import { MODEL_CATALOG, type ModelProfile } from "../../../src/config/catalog/models.js";
import { GatewayError } from "../../../src/core/errors.js";
import { collect, doneOf, L4, makeBackend, makeRequest, QWEN_05B, run } from "./helpers.js";

describe("abort", () => {
  it("removes a running sequence at once, frees its blocks and ends the stream without done", async () => {
    const { clock, backend } = makeBackend();
    const controller = new AbortController();
    const outcome = run(backend, makeRequest("a", { promptLength: 500, maxTokens: 100 }), controller.signal);
    await clock.advance(50);
    expect(backend.stats().kvBlocksUsed).toBeGreaterThan(0);
    controller.abort();
    expect(backend.snapshot()).toMatchObject({ running: 0, waiting: 0, kvCacheUsage: 0 });
    expect(backend.stats().kvBlocksUsed).toBe(0);
    await clock.runUntilIdle();
    const result = await outcome;
    expect(result.done).toBeUndefined();
    expect(result.error).toBeUndefined();
    expect(result.tokens.length).toBeGreaterThan(0);
    expect(clock.pending).toBe(0);
  });

  it("removes a waiting request from the queue", async () => {
    const { clock, backend } = makeBackend({ engine: { maxNumSeqs: 1 } });
    const first = run(backend, makeRequest("a", { maxTokens: 50 }));
    const controller = new AbortController();
    const second = run(backend, makeRequest("b", { maxTokens: 50 }), controller.signal);
    await clock.advance(5);
    expect(backend.snapshot()).toMatchObject({ running: 1, waiting: 1 });
    controller.abort();
    expect(backend.snapshot()).toMatchObject({ running: 1, waiting: 0 });
    await clock.runUntilIdle();
    expect((await second).tokens).toHaveLength(0);
    expect(doneOf(await first).usage.completionTokens).toBe(50);
  });

  it("treats a consumer that stops reading as an abort", async () => {
    const { clock, backend } = makeBackend();
    const consumer = (async () => {
      let seen = 0;
      for await (const event of backend.generate(
        makeRequest("a", { maxTokens: 100 }),
        new AbortController().signal,
      )) {
        if (event.type === "token" && ++seen === 3) break;
      }
      return seen;
    })();
    await clock.runUntilIdle();
    expect(await consumer).toBe(3);
    expect(backend.snapshot()).toMatchObject({ running: 0, kvCacheUsage: 0 });
    expect(backend.stats().generationTokens).toBeLessThan(10);
  });

  it("ends at once for an already aborted signal", async () => {
    const { backend } = makeBackend();
    const result = await run(backend, makeRequest("a"), AbortSignal.abort());
    expect(result).toMatchObject({ tokens: [], done: undefined, error: undefined });
    expect(backend.snapshot().waiting).toBe(0);
  });
});

describe("faults", () => {
  it("errorRate 1: every request fails with a retryable backend_error at the end of its first step", async () => {
    const { clock, backend } = makeBackend({ faults: { errorRate: 1 } });
    const outcome = run(backend, makeRequest("a", { promptLength: 1000 }));
    await clock.runUntilIdle();
    const { error, tokens } = await outcome;
    expect(tokens).toHaveLength(0);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ code: "backend_error", retryable: true, status: 502 });
    expect(backend.stats()).toMatchObject({ steps: 1, kvBlocksUsed: 0 });
    expect(clock.now()).toBeGreaterThan(30); // failed after the prefill step, not at once
  });

  it("errorRate 0.3 fails about 30% of requests, the same ones for the same seed", async () => {
    async function failures(seed: number) {
      const { clock, backend } = makeBackend({ faults: { errorRate: 0.3 }, seed });
      const outcomes = Array.from({ length: 200 }, (_, i) =>
        run(backend, makeRequest(`e${i}`, { maxTokens: 2 })),
      );
      await clock.runUntilIdle();
      return (await Promise.all(outcomes)).map((o) => o.error !== undefined);
    }
    const a = await failures(1);
    const count = a.filter(Boolean).length;
    expect(count).toBeGreaterThan(40);
    expect(count).toBeLessThan(80);
    expect(await failures(1)).toEqual(a);
    expect(await failures(2)).not.toEqual(a);
  });

  it("latencyMultiplier scales step times", async () => {
    async function ttft(latencyMultiplier: number) {
      const { clock, backend } = makeBackend({ faults: { latencyMultiplier } });
      const outcome = run(backend, makeRequest("a", { promptLength: 800, maxTokens: 3 }));
      await clock.runUntilIdle();
      return doneOf(await outcome).timings;
    }
    const normal = await ttft(1);
    const slow = await ttft(2.5);
    expect(slow.firstTokenMs).toBeCloseTo(normal.firstTokenMs * 2.5, 9);
    expect(slow.endMs).toBeCloseTo(normal.endMs * 2.5, 9);
  });

  it("hang: accepted, never answered, looks ready; abort still frees it", async () => {
    const { clock, backend } = makeBackend({ faults: { hang: true } });
    const controller = new AbortController();
    const outcome = run(backend, makeRequest("a"), controller.signal);
    await clock.advance(3_600_000);
    expect(backend.snapshot()).toMatchObject({ ready: true, waiting: 1 });
    expect(clock.pending).toBe(0);
    controller.abort();
    const result = await outcome;
    expect(result).toMatchObject({ tokens: [], done: undefined, error: undefined });
    expect(backend.snapshot().waiting).toBe(0);
  });

  it("outage: not ready, new requests refused, in-flight requests failed, KV cache lost", async () => {
    const { clock, backend } = makeBackend({ faults: { outages: [{ startMs: 100, durationMs: 5000 }] } });
    const inFlight = run(backend, makeRequest("a", { promptLength: 300, maxTokens: 1000 }));
    expect(backend.snapshot().ready).toBe(true);
    await clock.advance(99);
    expect((await Promise.race([inFlight, Promise.resolve("pending")])) === "pending").toBe(true);
    await clock.advance(1);
    const failed = await inFlight;
    expect(failed.tokens.length).toBeGreaterThan(0);
    expect(failed.error).toMatchObject({
      code: "replica_unavailable",
      retryable: true,
      retryAfterSeconds: 5,
    });
    expect(backend.snapshot()).toMatchObject({ ready: false, running: 0, kvCacheUsage: 0 });

    const refused = await run(backend, makeRequest("b"));
    expect(refused.error).toMatchObject({ code: "replica_unavailable", status: 503, retryable: true });

    await clock.advance(5000);
    expect(backend.snapshot().ready).toBe(true);
    const after = run(backend, makeRequest("c", { maxTokens: 3 }));
    await clock.runUntilIdle();
    expect(doneOf(await after).usage.completionTokens).toBe(3);
    expect(clock.pending).toBe(0);
  });

  it("an outage also fails requests stuck on a hung replica", async () => {
    const { clock, backend } = makeBackend({
      faults: { hang: true, outages: [{ startMs: 1000, durationMs: 10 }] },
    });
    const outcome = run(backend, makeRequest("a"));
    await clock.runUntilIdle();
    expect((await outcome).error).toMatchObject({ code: "replica_unavailable" });
  });
});

describe("text and determinism", () => {
  it("a greedy request reads the same on any replica and any run", async () => {
    const texts: string[] = [];
    for (const seed of [1, 2]) {
      const { clock, backend } = makeBackend({ seed });
      const outcome = run(backend, makeRequest("a", { promptText: "Tell me a story", maxTokens: 40 }));
      await clock.runUntilIdle();
      texts.push((await outcome).text);
    }
    expect(texts[0]).toBe(texts[1]);
    expect(texts[0]?.length).toBeGreaterThan(100);
  });

  it("sampled requests differ, unless they share an explicit seed", async () => {
    const { clock, backend } = makeBackend({ output: { lengthMedian: 30, lengthSigma: 0.5 } });
    const same = { promptText: "hi", temperature: 1, maxTokens: 200 };
    const outcomes = [
      run(backend, makeRequest("a", same)),
      run(backend, makeRequest("b", same)),
      run(backend, makeRequest("c", { ...same, seed: 9 })),
      run(backend, makeRequest("d", { ...same, seed: 9 })),
    ];
    await clock.runUntilIdle();
    const [a, b, c, d] = await Promise.all(outcomes);
    expect(a?.text).not.toBe(b?.text);
    expect(c?.text).toBe(d?.text);
    expect(c?.done?.usage.completionTokens).toBe(d?.done?.usage.completionTokens);
    expect(c?.done?.finishReason).toBe("stop");
  });

  it("honours stop sequences: ends with stop, omits the stop string, holds back partial matches", async () => {
    const { clock, backend } = makeBackend();
    const base = { promptText: "Write", maxTokens: 80 };
    const free = run(backend, makeRequest("free", base));
    await clock.runUntilIdle();
    const full = (await free).text;
    const cut = full.indexOf(".", 20);
    const stop = full.slice(cut - 9, cut + 1); // the last few characters of a sentence, spanning tokens
    const stopped = run(backend, makeRequest("stopped", { ...base, stop: [stop] }));
    await clock.runUntilIdle();
    const result = await stopped;
    expect(result.text).toBe(full.slice(0, full.indexOf(stop)));
    expect(doneOf(result).finishReason).toBe("stop");
    expect(result.tokens.some((t) => t.text === "")).toBe(true);
    expect(doneOf(result).usage.completionTokens).toBe(result.tokens.length);
  });

  it("finishes with stop at the natural length, and length at maxTokens", async () => {
    const { clock, backend } = makeBackend({ output: { lengthMedian: 12, lengthSigma: 0 } });
    const natural = run(backend, makeRequest("n", { maxTokens: 100 }));
    const capped = run(backend, makeRequest("c", { maxTokens: 5 }));
    await clock.runUntilIdle();
    expect(doneOf(await natural)).toMatchObject({ finishReason: "stop", usage: { completionTokens: 12 } });
    expect(doneOf(await capped)).toMatchObject({ finishReason: "length", usage: { completionTokens: 5 } });
  });
});

describe("construction and lifecycle", () => {
  it("refuses Llama-3.1-70B on one L4", () => {
    const seventy = MODEL_CATALOG["Llama-3.1-70B"] as ModelProfile;
    expect(() => makeBackend({ hardware: L4, model: seventy })).toThrow(
      /Llama-3\.1-70B.*L4.*tensor parallel 1/,
    );
  });

  it("fits Llama-3.1-70B with TP 4 on H100s, each GPU holding a quarter", () => {
    const seventy = MODEL_CATALOG["Llama-3.1-70B"] as ModelProfile;
    const { backend } = makeBackend({ model: seventy, tensorParallel: 4 });
    const perGpuPool = 81_559 * 1024 ** 2 * 0.9 - 141.2e9 / 4 - 2e9; // nvidia-smi reports 81,559 MiB
    expect(backend.capacity().kvBlocksTotal).toBe(Math.floor(perGpuPool / ((16 * 327_680) / 4)));
  });

  it.each([
    ["tensorParallel", { tensorParallel: 3 }, /tensorParallel must divide/],
    ["engine.blockSize", { engine: { blockSize: 0 } }, /engine\.blockSize must be an integer >= 1 \(got 0\)/],
    ["efficiency.mbu", { efficiency: { mbu: 1.5 } }, /efficiency\.mbu must be in \(0, 1\] \(got 1\.5\)/],
    ["faults.errorRate", { faults: { errorRate: -1 } }, /faults\.errorRate/],
  ])("validates %s", (_field, setup, message) => {
    expect(() => makeBackend(setup)).toThrow(message);
  });

  it("rejects empty prompts and non-positive max_tokens as invalid requests", async () => {
    const { backend } = makeBackend();
    expect((await run(backend, makeRequest("e", { promptTokens: [] }))).error).toMatchObject({
      code: "invalid_request",
    });
    expect((await run(backend, makeRequest("m", { maxTokens: 0 }))).error).toMatchObject({
      code: "invalid_request",
      param: "max_tokens",
    });
  });

  it("close fails everything in flight with service_unavailable and clears timers", async () => {
    const { clock, backend } = makeBackend({ engine: { maxNumSeqs: 1 } });
    const running = run(backend, makeRequest("a", { maxTokens: 100 }));
    const waiting = run(backend, makeRequest("b", { maxTokens: 100 }));
    await clock.advance(20);
    await backend.close();
    expect(clock.pending).toBe(0);
    for (const outcome of await Promise.all([running, waiting])) {
      expect(outcome.error).toMatchObject({ code: "service_unavailable" });
    }
    expect(backend.snapshot().ready).toBe(false);
    expect((await run(backend, makeRequest("c"))).error).toMatchObject({ code: "service_unavailable" });
  });

  it("reports KV usage in snapshot and stats", async () => {
    const { clock, backend } = makeBackend({ model: QWEN_05B, kvBlocks: 100 });
    const outcome = collect(
      backend.generate(makeRequest("a", { promptLength: 320, maxTokens: 50 }), new AbortController().signal),
    );
    await clock.advance(0);
    expect(backend.snapshot().kvCacheUsage).toBeCloseTo(0.2, 12);
    expect(backend.stats()).toMatchObject({ kvBlocksTotal: 100, kvBlocksUsed: 20 });
    await clock.runUntilIdle();
    await outcome;
    expect(backend.snapshot().kvCacheUsage).toBe(0);
  });
});
