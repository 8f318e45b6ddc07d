import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { compose } from "../../src/compose.js";
import { parseConfig } from "../../src/config/load.js";
import { VirtualClock } from "../../src/core/clock.js";
import { json } from "../helpers/json.js";

/**
 * The cache stage and prefix caching must not fight: a response-cache miss is routed exactly as without the
 * cache (prefix-affinity picks the replica holding the prefix) and still skips the shared prefix in the engine.
 */
describe("response cache and prefix caching together", () => {
  it("a miss that shares a long system prompt is routed to the warm replica and reuses its prefix cache", async () => {
    const clock = new VirtualClock();
    const composed = compose({
      config: parseConfig({
        models: [{ id: "llama", profile: "Llama-3.1-8B", routing: { policy: "prefix-affinity" } }],
        deployments: [
          {
            name: "h100",
            model: "llama",
            replicas: 3,
            backend: {
              type: "simulated",
              hardware: "H100-SXM-80GB",
              output: { lengthMedian: 8, lengthSigma: 0 },
            },
          },
        ],
      }),
      clock,
      logger: pino({ level: "silent" }),
      processMetrics: false,
    });
    const system = `You are a support agent for a GPU cloud. ${"Follow the policy carefully. ".repeat(60)}`;
    const ask = async (question: string) => {
      const pending = Promise.resolve(
        composed.app.request("/v1/chat/completions", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            model: "llama",
            temperature: 0,
            max_tokens: 8,
            messages: [
              { role: "system", content: system },
              { role: "user", content: question },
            ],
          }),
        }),
      );
      await clock.runUntilIdle();
      const res = await pending;
      return { res, body: await json(res) };
    };
    const first = await ask("How do I resize a volume?");
    expect(first.res.headers.get("x-cache")).toBe("MISS");
    const second = await ask("How do I rotate an API key?");
    expect(second.res.headers.get("x-cache")).toBe("MISS");
    expect(second.res.headers.get("x-tollgate-replica")).toBe(first.res.headers.get("x-tollgate-replica"));
    // Most of the ~400-token prompt is the shared system prompt, found in the replica's prefix cache.
    expect(second.body.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(300);
    const again = await ask("How do I rotate an API key?");
    expect(again.res.headers.get("x-cache")).toBe("HIT");
    expect(again.body.choices[0].message.content).toBe(second.body.choices[0].message.content);
    await composed.close();
  });
});
