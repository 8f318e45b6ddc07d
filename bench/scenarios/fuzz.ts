import { startGateway } from "../harness/processes.js";
import { FUZZ_CONFIG_TARGET, fuzzCases } from "../lib/fuzz-cases.js";
import { runFuzz } from "../lib/fuzz-run.js";
import { startHealthProbe } from "../lib/health-probe.js";
import type { Scenario } from "./types.js";

/**
 * 20,000 hostile requests from bench/lib/fuzz-cases.ts (the generator test/e2e/fuzz.test.ts runs 2,000 of)
 * against the compiled gateway with a zero-latency replica and the guard on, while /healthz is probed every
 * 10 ms: counts by status, every rule broken (a 5xx, no answer, an error that is not an OpenAI body), and how
 * long /healthz waited meanwhile.
 */
export const fuzz: Scenario = {
  name: "fuzz",
  description: "20,000 seeded hostile requests on every route: no 5xx, OpenAI error bodies, /healthz latency",
  async run(context) {
    const settings = {
      gatewayConfig: "bench/configs/fuzz.yaml",
      seed: 20_240_601,
      cases: context.quick ? 2000 : 20_000,
      concurrency: 8,
      caseTimeoutMs: 30_000,
      healthProbeIntervalMs: 10,
    };
    const gateway = await startGateway(settings.gatewayConfig);
    try {
      const probe = startHealthProbe({
        baseUrl: gateway.baseUrl,
        intervalMs: settings.healthProbeIntervalMs,
      });
      const started = performance.now();
      const tally = await runFuzz({
        port: gateway.port,
        cases: fuzzCases({ seed: settings.seed, count: settings.cases, target: FUZZ_CONFIG_TARGET }),
        concurrency: settings.concurrency,
        timeoutMs: settings.caseTimeoutMs,
      });
      const seconds = (performance.now() - started) / 1000;
      const health = await probe.stop();
      context.log(`${tally.cases} cases in ${seconds.toFixed(1)} s; ${tally.violations.length} violations`);
      const after = await fetch(`${gateway.baseUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${FUZZ_CONFIG_TARGET.apiKey}` },
        body: JSON.stringify({
          model: FUZZ_CONFIG_TARGET.model,
          max_tokens: 3,
          messages: [{ role: "user", content: "hi" }],
        }),
      });
      await after.text();
      const count = (test: (status: number) => boolean) =>
        Object.entries(tally.byStatus)
          .filter(([status]) => test(Number(status)))
          .reduce((sum, [, n]) => sum + n, 0);
      const serverErrors = count((status) => status >= 500);
      const unanswered = count((status) => status === 0);
      return {
        config: settings,
        results: {
          "responses by status": tally.byStatus,
          "/healthz during the run": {
            "GET /healthz every 10 ms": {
              healthz: health,
              failed: health.failed,
              slowestSentAtMs: health.maxSentAtMs,
            },
          },
          "rules broken": { count: tally.violations.length, first: tally.violations.slice(0, 20) },
          "answers lost to a reset while an over-limit body was still being sent": {
            count: tally.resetsWhileSending.length,
            cases: tally.resetsWhileSending,
          },
          "slowest cases": tally.slowest,
          "responses by case kind": tally.byKind,
        },
        notes: [
          `${tally.cases} cases in ${seconds.toFixed(1)} s (${(tally.cases / seconds).toFixed(0)} req/s, ${settings.concurrency} at a time): ${serverErrors} responses >= 500, ${unanswered} unanswered, ${tally.violations.length} rules broken`,
          `${tally.resetsWhileSending.length} answers (status 0 above) lost to a connection reset while the client was still sending a body over the route's limit: the 413 path closes with the rest unread (no lingering close), so the kernel resets the connection under the client's write; the server answers on`,
          `/healthz meanwhile (${health.count} probes, ${health.failed} failed): p50 ${health.p50.toFixed(1)} ms, p99 ${health.p99.toFixed(1)} ms, max ${health.max.toFixed(1)} ms (sent ${(health.maxSentAtMs / 1000).toFixed(1)} s into the run)`,
          `a normal request afterwards: ${after.status}`,
        ],
      };
    } finally {
      await gateway.stop();
    }
  },
};
