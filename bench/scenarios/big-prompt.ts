import { startGateway } from "../harness/processes.js";
import { bigBodies, MiB, promptShapes } from "../lib/big-bodies.js";
import { startHealthProbe } from "../lib/health-probe.js";
import type { Scenario } from "./types.js";

/**
 * What one big request costs the gateway's event loop. First the tokenizer alone on 1 MiB of each worst-case
 * shape (in this process); then each 1 MiB body (bench/lib/big-bodies.ts) sent alone to the compiled gateway
 * while GET /healthz is probed every 2 ms: the slowest /healthz answer bounds the longest the request held the
 * loop. The gateway is warmed first with 64 KiB versions of the same bodies, so first-use compilation is not
 * counted against them.
 */
export const bigPrompt: Scenario = {
  name: "big-prompt",
  description: "Tokenizer time and /healthz latency while 1 MiB worst-case bodies are processed",
  async run(context) {
    const settings = {
      gatewayConfig: "bench/configs/big-prompt.yaml",
      bodyBytes: MiB,
      tokenizerRuns: context.quick ? 1 : 3,
      healthProbeIntervalMs: 2,
    };
    const { createCl100kTokenizer } = await import("../../src/core/tokenizer.js");
    const tokenizer = createCl100kTokenizer();
    const tokenizerTimes: Record<string, { ms: number; tokens: number }> = {};
    for (const { name, text } of promptShapes(settings.bodyBytes)) {
      tokenizer.encode(text.slice(0, 20_000));
      let best = Number.POSITIVE_INFINITY;
      let tokens = 0;
      for (let run = 0; run < settings.tokenizerRuns; run++) {
        const started = performance.now();
        tokens = tokenizer.encode(text).length;
        best = Math.min(best, performance.now() - started);
      }
      tokenizerTimes[name] = { ms: Math.round(best), tokens };
      context.log(`tokenize 1 MiB ${name}: ${best.toFixed(0)} ms`);
    }

    const gateway = await startGateway(settings.gatewayConfig);
    const served: Record<string, unknown> = {};
    try {
      const send = async (body: string) => {
        const started = performance.now();
        const response = await fetch(`${gateway.baseUrl}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
        const text = await response.text();
        return { status: response.status, ms: performance.now() - started, text };
      };
      const cases = [
        { name: "one letter (d), 100,000 characters", body: oneWord(100_000) },
        ...bigBodies("bench-model", settings.bodyBytes),
      ];
      for (const warm of bigBodies("bench-model", 64 * 1024)) await send(warm.body);
      for (const { name, body } of cases) {
        const probe = startHealthProbe({
          baseUrl: gateway.baseUrl,
          intervalMs: settings.healthProbeIntervalMs,
        });
        const answer = await send(body);
        const health = await probe.stop();
        const code = answer.status === 200 ? "" : ` ${String(JSON.parse(answer.text).error?.code ?? "")}`;
        served[name] = {
          bodyBytes: Buffer.byteLength(body),
          status: `${answer.status}${code}`,
          requestMs: Math.round(answer.ms),
          healthz: health,
        };
        context.log(
          `${name}: ${answer.status}${code} in ${answer.ms.toFixed(0)} ms, /healthz max ${health.max.toFixed(1)} ms`,
        );
      }
    } finally {
      await gateway.stop();
    }
    const worst = Object.entries(served).reduce(
      (top, [name, run]) => {
        const max = (run as { healthz: { max: number } }).healthz.max;
        return max > top.max ? { name, max } : top;
      },
      { name: "", max: 0 },
    );
    const slowestShape = Object.entries(tokenizerTimes).reduce((a, b) => (b[1].ms > a[1].ms ? b : a));
    return {
      config: settings,
      results: {
        "tokenizer, 1 MiB of each shape": tokenizerTimes,
        "/healthz while one big request is served": served,
      },
      notes: [
        `slowest /healthz answer while a big request was served: ${worst.max.toFixed(1)} ms (${worst.name})`,
        `tokenizing 1 MiB: slowest shape ${slowestShape[0]} ${slowestShape[1].ms} ms, English prose ${tokenizerTimes["English prose"]?.ms} ms`,
        ...Object.entries(served).map(([name, run]) => {
          const r = run as { status: string; requestMs: number; healthz: { max: number; count: number } };
          return `${name}: ${r.status} in ${r.requestMs} ms; ${r.healthz.count} /healthz probes meanwhile, slowest ${r.healthz.max.toFixed(1)} ms`;
        }),
      ],
    };
  },
};

function oneWord(characters: number): string {
  return JSON.stringify({
    model: "bench-model",
    max_tokens: 1,
    messages: [{ role: "user", content: "d".repeat(characters) }],
  });
}
