import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerProcess, startGateway } from "../../bench/harness/processes.js";
import { SeededRandom } from "../../src/core/random.js";

/**
 * One 1 MiB single-word prompt must not freeze the server: before the tokenizer's cost was bounded, one
 * 100,000-letter word held the event loop 5 s (quadratic BPE), 1 MiB for minutes, and /healthz waited behind
 * it. The compiled gateway runs in its own process (as in production; `npm test` builds first), so the probes
 * below measure its event loop and not this test's.
 */
let gateway: ServerProcess;

beforeAll(async () => {
  gateway = await startGateway("bench/configs/zero-latency.yaml");
}, 30_000);

afterAll(async () => {
  await gateway?.stop();
});

describe("a 1 MiB single-word prompt", () => {
  it("is refused for its length while /healthz keeps answering within 100 ms", async () => {
    // Random letters: one pre-token of 1 MiB whose chunks all differ (a repeated letter would be cheaper).
    const random = new SeededRandom(42);
    const word = Array.from({ length: 1024 * 1024 - 100 }, () =>
      String.fromCharCode(97 + Math.floor(random.next() * 26)),
    ).join("");
    const body = JSON.stringify({
      model: "bench-model",
      max_tokens: 1,
      messages: [{ role: "user", content: word }],
    });
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(1024 * 1024);
    // Warm up first (JIT, the tokenizer's table for long words): a cold start is not what this measures.
    const warm = await fetch(`${gateway.baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "bench-model",
        max_tokens: 1,
        messages: [{ role: "user", content: word.slice(0, 65_536) }],
      }),
    });
    expect(warm.status).toBe(200);
    await warm.text();

    let inFlight = true;
    const big = fetch(`${gateway.baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    }).then(async (res) => {
      const answer = { status: res.status, body: (await res.json()) as { error?: { code?: string } } };
      inFlight = false;
      return answer;
    });
    const probes: number[] = [];
    while (inFlight) {
      const started = performance.now();
      const health = await fetch(`${gateway.baseUrl}/healthz`);
      await health.text();
      // Only probes answered while the big request was still being processed count.
      if (inFlight) probes.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const answer = await big;
    expect(answer.status).toBe(400);
    expect(answer.body.error?.code).toBe("context_length_exceeded");
    // The request takes a few hundred ms of tokenizing: enough for several probes to overlap it.
    expect(probes.length).toBeGreaterThanOrEqual(5);
    for (const ms of probes) expect(ms).toBeLessThan(100);
  }, 60_000);
});
