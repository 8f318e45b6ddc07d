import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { compose } from "../../src/compose.js";
import { parseConfig } from "../../src/config/load.js";
import { VirtualClock } from "../../src/core/clock.js";

/** Completion requests leave one structured JSON line each; prompt text only with log.prompts. */
function logged(prompts: boolean) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n"))
        if (line !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const clock = new VirtualClock();
  const composed = compose({
    config: parseConfig({
      log: { level: "info", prompts },
      guard: { enabled: false },
      models: [
        { id: "qwen", profile: "Qwen2.5-0.5B", pricing: { inputPerMillionUsd: 1, outputPerMillionUsd: 1 } },
      ],
      deployments: [
        {
          name: "l4",
          model: "qwen",
          backend: { type: "simulated", hardware: "L4", output: { lengthMedian: 5, lengthSigma: 0 } },
        },
      ],
    }),
    clock,
    logger: pino({ level: "info" }, sink),
    processMetrics: false,
  });
  const post = async (body: unknown, headers: Record<string, string> = {}) => {
    const pending = Promise.resolve(
      composed.app.request("/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      }),
    );
    await clock.runUntilIdle();
    const res = await pending;
    await res.text();
    await clock.runUntilIdle();
    return res;
  };
  return { lines, post, composed };
}

describe("structured request logs", () => {
  it("writes one line per completion with id, model, deployment, class, outcome, tokens, cost and latency", async () => {
    const { lines, post } = logged(false);
    const res = await post(
      { model: "qwen", messages: [{ role: "user", content: "a secret prompt" }] },
      { "x-request-id": "req-log-1" },
    );
    expect(res.status).toBe(200);
    await post(
      { model: "nope", messages: [{ role: "user", content: "x" }] },
      { "x-request-id": "req-log-2" },
    );
    const completions = lines.filter((l) => l["msg"] === "completion");
    expect(completions).toHaveLength(2);
    expect(completions[0]).toMatchObject({
      requestId: "req-log-1",
      model: "qwen",
      deployment: "l4",
      sloClass: "standard",
      status: 200,
      outcome: "stop",
      completionTokens: 5,
      cache: "miss",
    });
    expect(completions[0]!["promptTokens"]).toBeGreaterThan(0);
    expect(completions[0]!["costUsd"]).toBeGreaterThan(0);
    expect(typeof completions[0]!["ms"]).toBe("number");
    expect(JSON.stringify(lines)).not.toContain("a secret prompt");
    expect(completions[1]).toMatchObject({ requestId: "req-log-2", status: 404, outcome: "model_not_found" });
  });

  it("includes the prompt only when log.prompts is on", async () => {
    const { lines, post } = logged(true);
    await post({ model: "qwen", messages: [{ role: "user", content: "a loggable prompt" }] });
    expect(String(lines.find((l) => l["msg"] === "completion")?.["prompt"])).toContain("a loggable prompt");
  });
});
