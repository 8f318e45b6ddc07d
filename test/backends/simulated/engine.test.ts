import { describe, expect, it } from "vitest";
import { doneOf, makeBackend, makeRequest, type Outcome, promptTokens, QWEN_05B, run } from "./helpers.js";

/** Hand-computed steps for Llama-3.1-8B bf16 on one H100-SXM with mbu 0.6, MFU 0.35->0.6 over 2048, 1 ms. */
const MBU_BW = 3.35e12 * 0.6;
function decodeStepMs(contextAfter: number): number {
  return ((16.06e9 + contextAfter * 131_072) / MBU_BW) * 1000 + 1;
}
function prefillStepMs(tokens: number): number {
  const mfu = 0.35 + 0.25 * Math.min(1, tokens / 2048);
  const attention = 4 * 32 * 32 * 128 * ((tokens * (tokens + 1)) / 2);
  return ((2 * 8.03e9 * tokens + attention) / (989e12 * mfu)) * 1000 + 1;
}

describe("a lone request", () => {
  it("gets its first token after one prefill step and one token per decode step", async () => {
    const { clock, backend } = makeBackend();
    const outcome = run(backend, makeRequest("a", { promptLength: 1000, maxTokens: 4 }));
    await clock.runUntilIdle();
    const { tokens, done } = await outcome;
    const ttft = prefillStepMs(1000);
    expect(tokens).toHaveLength(4);
    expect(tokens[0]?.atMs).toBeCloseTo(ttft, 9);
    // Decode k feeds token k back: the context after it is 1000 + k tokens.
    expect(tokens[1]?.atMs).toBeCloseTo(ttft + decodeStepMs(1001), 9);
    expect(tokens[3]?.atMs).toBeCloseTo(
      ttft + decodeStepMs(1001) + decodeStepMs(1002) + decodeStepMs(1003),
      9,
    );
    expect(done).toMatchObject({
      finishReason: "length",
      usage: { promptTokens: 1000, completionTokens: 4, cachedPromptTokens: 0 },
      timings: { arrivalMs: 0, scheduledMs: 0, preemptions: 0 },
      replicaId: "sim/0",
    });
    expect(done?.timings.firstTokenMs).toBeCloseTo(ttft, 9);
    expect(done?.timings.endMs).toBeCloseTo(tokens[3]?.atMs ?? 0, 9);
    expect(done?.gpuSeconds).toBeCloseTo((done?.timings.endMs ?? 0) / 1000, 12);
    expect(clock.pending).toBe(0); // idle: no timer left behind
  });

  it("splits a prompt longer than the step budget into chunks (chunked prefill)", async () => {
    const { clock, backend } = makeBackend({ engine: { maxNumBatchedTokens: 512 } });
    const outcome = run(backend, makeRequest("a", { promptLength: 1300, maxTokens: 1 }));
    await clock.runUntilIdle();
    const done = doneOf(await outcome);
    const expected =
      prefillStepMs(512) +
      ((2 * 8.03e9 * 512 + 4 * 32 * 32 * 128 * (512 * 512 + (512 * 513) / 2)) / (989e12 * (0.35 + 0.0625))) *
        1000 +
      1 +
      prefillStepMs(276) +
      // the third chunk also attends to the first 1024 tokens (still compute bound: ~12 ms > 8 ms of reads)
      ((4 * 32 * 32 * 128 * 276 * 1024) / (989e12 * (0.35 + (0.25 * 276) / 2048))) * 1000;
    expect(done.timings.firstTokenMs).toBeCloseTo(expected, 6);
    expect(backend.stats()).toMatchObject({ steps: 3, promptTokensComputed: 1300, generationTokens: 1 });
  });
});

describe("continuous batching", () => {
  async function throughput(concurrency: number) {
    const { clock, backend } = makeBackend();
    const outcomes = Array.from({ length: concurrency }, (_, i) =>
      run(backend, makeRequest(`r${i}`, { promptLength: 200, maxTokens: 64 })),
    );
    const elapsed = await clock.runUntilIdle();
    const results = await Promise.all(outcomes);
    const tokens = results.reduce((sum, r) => sum + doneOf(r).usage.completionTokens, 0);
    const first = results[0] as Outcome;
    const itl = ((first.tokens[63]?.atMs ?? 0) - (first.tokens[1]?.atMs ?? 0)) / 62;
    return { tokensPerS: tokens / (elapsed / 1000), itl, steps: backend.stats().steps };
  }

  it("32 concurrent requests: more tokens/s in total, a longer time per token each", async () => {
    const one = await throughput(1);
    const many = await throughput(32);
    expect(many.tokensPerS).toBeGreaterThan(one.tokensPerS * 10);
    expect(many.itl).toBeGreaterThan(one.itl);
    expect(many.steps).toBe(one.steps); // all 32 ran in the same 64 steps
  });

  it("shares every step's GPU time among its sequences: Σ gpuSeconds = busy time x TP", async () => {
    const { clock, backend } = makeBackend({
      tensorParallel: 2,
      output: { lengthMedian: 40, lengthSigma: 0.8 },
    });
    const outcomes = Array.from({ length: 20 }, (_, i) =>
      run(backend, makeRequest(`g${i}`, { promptLength: 50 + 97 * i, maxTokens: 200, temperature: 1 })),
    );
    await clock.advance(30);
    outcomes.push(run(backend, makeRequest("late", { promptLength: 3000, maxTokens: 20 })));
    await clock.runUntilIdle();
    const results = await Promise.all(outcomes);
    const total = results.reduce((sum, r) => sum + doneOf(r).gpuSeconds, 0);
    const stats = backend.stats();
    expect(total).toBeCloseTo((stats.busyMs / 1000) * 2, 9);
    expect(new Set(results.map((r) => r.done?.usage.completionTokens)).size).toBeGreaterThan(3);
  });

  it("caps the running batch at maxNumSeqs; the rest wait their turn", async () => {
    const { clock, backend } = makeBackend({ engine: { maxNumSeqs: 4 } });
    const outcomes = Array.from({ length: 6 }, (_, i) =>
      run(backend, makeRequest(`s${i}`, { maxTokens: 8 })),
    );
    await clock.advance(0);
    expect(backend.snapshot()).toMatchObject({ running: 4, waiting: 2 });
    await clock.runUntilIdle();
    const results = await Promise.all(outcomes);
    expect(doneOf(results[5] as Outcome).timings.scheduledMs).toBeGreaterThan(0);
    expect(doneOf(results[3] as Outcome).timings.scheduledMs).toBe(0);
  });
});

describe("KV cache pressure", () => {
  it("makes later requests wait for blocks, then preempts under decode growth (recompute)", async () => {
    // 64 blocks x 16 = 1,024 tokens; 8 requests of 200 + 200 tokens need 25 blocks each at the end.
    const setup = { model: QWEN_05B, kvBlocks: 64 };
    const { clock, backend } = makeBackend(setup);
    expect(backend.capacity()).toMatchObject({ kvBlocksTotal: 64, maxTokensInKv: 1024 });
    const requests = Array.from({ length: 8 }, (_, i) =>
      makeRequest(`k${i}`, { promptLength: 200, maxTokens: 200 }),
    );
    const outcomes = requests.map((r) => run(backend, r));
    await clock.advance(0);
    expect(backend.snapshot().running).toBe(4); // 4 x 13 blocks; a fifth would need 65
    expect(backend.snapshot().waiting).toBe(4);
    await clock.runUntilIdle();
    const results = await Promise.all(outcomes);
    const dones = results.map(doneOf);
    expect(dones.some((d) => d.timings.scheduledMs > d.timings.arrivalMs)).toBe(true);
    expect(backend.stats().preemptions).toBeGreaterThan(0);
    expect(dones.some((d) => d.timings.preemptions > 0)).toBe(true);
    expect(dones.reduce((n, d) => n + d.timings.preemptions, 0)).toBe(backend.stats().preemptions);
    expect(backend.stats().kvBlocksUsed).toBe(0);

    // Recomputation never re-emits tokens: each text equals the unconstrained replica's text.
    const roomy = makeBackend({ model: QWEN_05B });
    const reference = requests.map((r) => run(roomy.backend, r));
    await roomy.clock.runUntilIdle();
    const expected = await Promise.all(reference);
    for (const [i, result] of results.entries()) {
      expect(result.tokens).toHaveLength(200);
      expect(result.text).toBe(expected[i]?.text);
    }
  });

  it("refuses a request that could never fit in the whole pool (context_length_exceeded)", async () => {
    const { backend } = makeBackend({ model: QWEN_05B, kvBlocks: 64 });
    const outcome = await run(backend, makeRequest("big", { promptLength: 1000, maxTokens: 100 }));
    expect(outcome.error).toMatchObject({
      code: "context_length_exceeded",
      status: 400,
      param: "max_tokens",
    });
    expect(String((outcome.error as Error).message)).toMatch(/KV cache holds 1024 tokens/);
  });

  it("refuses prompt + max_tokens beyond the model's context length", async () => {
    const { backend } = makeBackend();
    const outcome = await run(backend, makeRequest("long", { promptLength: 100, maxTokens: 131_000 }));
    expect(outcome.error).toMatchObject({ code: "context_length_exceeded" });
    expect(String((outcome.error as Error).message)).toMatch(/maximum context length is 131072 tokens/);
  });
});

describe("prefix caching", () => {
  const shared = promptTokens(1024, 1);
  const withSuffix = (salt: number) => [...shared, ...promptTokens(10, salt)];

  it("serves a repeated prefix from the cache: cached tokens reported, lower TTFT", async () => {
    const { clock, backend } = makeBackend();
    const first = run(backend, makeRequest("p1", { promptTokens: withSuffix(2), maxTokens: 4 }));
    await clock.runUntilIdle();
    const second = run(
      backend,
      makeRequest("p2", { promptTokens: withSuffix(3), maxTokens: 4, arrivalMs: 0 }),
    );
    const startedAt = clock.now();
    await clock.runUntilIdle();
    const a = doneOf(await first);
    const b = doneOf(await second);
    expect(a.usage.cachedPromptTokens).toBe(0);
    expect(b.usage.cachedPromptTokens).toBe(1024);
    expect(b.timings.firstTokenMs - startedAt).toBeLessThan(
      (a.timings.firstTokenMs - a.timings.arrivalMs) / 2,
    );
    expect(backend.stats()).toMatchObject({ prefixCacheQueries: 2 * 1034, prefixCacheHits: 1024 });
    expect(backend.stats().promptTokensComputed).toBe(1034 + 10);
  });

  it("always recomputes the last prompt token, even for an identical prompt", async () => {
    const { clock, backend } = makeBackend();
    const prompt = promptTokens(64, 5); // exactly 4 blocks
    run(backend, makeRequest("x1", { promptTokens: prompt, maxTokens: 1 }));
    await clock.runUntilIdle();
    const again = run(backend, makeRequest("x2", { promptTokens: prompt, maxTokens: 1 }));
    await clock.runUntilIdle();
    expect(doneOf(await again).usage.cachedPromptTokens).toBe(48);
  });

  it("reports no hits when disabled", async () => {
    const { clock, backend } = makeBackend({ engine: { prefixCaching: false } });
    run(backend, makeRequest("q1", { promptTokens: withSuffix(2), maxTokens: 2 }));
    await clock.runUntilIdle();
    const second = run(backend, makeRequest("q2", { promptTokens: withSuffix(3), maxTokens: 2 }));
    await clock.runUntilIdle();
    expect(doneOf(await second).usage.cachedPromptTokens).toBe(0);
    expect(backend.stats().prefixCacheQueries).toBe(0);
  });
});
