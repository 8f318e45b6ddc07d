import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { POLICY_NAMES, type PolicyName } from "../../src/routing/policies/index.js";
import { startGateway } from "../harness/processes.js";
import { LatencyHistogram } from "../lib/histogram.js";
import { metricDelta, metricDeltaBy, type ScrapePair, scrapeMetrics } from "../lib/metrics-scrape.js";
import { type RequestSample, runOpenLoop } from "../lib/open-loop.js";
import { CHAT_WORKLOAD, createWorkload, type WorkloadSpec } from "../lib/workload.js";
import type { Scenario } from "./types.js";

/**
 * Every routing policy on the same pool and the same load: Llama-3.1-8B on two H100s (one throttled 3x), an A100
 * and an int4 L4, streamed chat with shared system prompts, Poisson arrivals at a fixed rate. Each policy gets a
 * fresh gateway (cold latency averages and prefix caches alike), so the runs differ only in the policy.
 *
 * Per policy: TTFT and e2e percentiles, completion tokens/s, SLO attainment (TTFT and TPOT targets per request,
 * TPOT from the stream as (e2e - ttft) / (tokens - 1)), mean GPU cost per response and each deployment's share
 * of the routing decisions, both scraped from the gateway's /metrics.
 */
const TEMPLATE = "bench/configs/policies-pool.yaml";

/** Interactive-chat targets in the range vLLM and the Gateway API Inference Extension benchmarks use. */
const SLO = { ttftMs: 500, tpotMs: 50 } as const;

const QUICK_POLICIES: readonly PolicyName[] = ["round-robin", "least-outstanding", "lowest-latency"];

export const policies: Scenario = {
  name: "policies",
  description:
    "Routing policies on a mixed GPU pool with one slowed replica: latency, SLO attainment, cost, traffic shares",
  async run(context) {
    const quick = context.quick;
    const workload: WorkloadSpec = {
      ...CHAT_WORKLOAD,
      stream: true,
      includeUsage: true,
      ...(quick && { outputTokens: { median: 32, sigma: 0.5, min: 1, max: 64 } }),
    };
    const settings = {
      policies: quick ? QUICK_POLICIES : POLICY_NAMES,
      rate: 8,
      durationMs: quick ? 3000 : 30_000,
      arrivals: "poisson" as const,
      drainTimeoutMs: quick ? 15_000 : 90_000,
      slo: SLO,
    };
    const template = parse(readFileSync(TEMPLATE, "utf8")) as PoolConfig;
    const dir = mkdtempSync(join(tmpdir(), "tollgate-policies-"));
    const runs: Record<string, unknown> = {};
    const summary: Record<string, PolicySummary> = {};
    try {
      for (const policy of settings.policies) {
        const configFile = join(dir, `${policy}.yaml`);
        writeFileSync(configFile, stringify(withPolicy(template, policy)));
        const gateway = await startGateway(configFile);
        try {
          context.log(`${policy}: ${settings.rate} req/s Poisson for ${settings.durationMs / 1000} s`);
          const before = await scrapeMetrics(gateway.baseUrl);
          const slo = new SloCounter(SLO);
          const requests = createWorkload(workload);
          const result = await runOpenLoop({
            baseUrl: gateway.baseUrl,
            rate: settings.rate,
            durationMs: settings.durationMs,
            arrivals: settings.arrivals,
            // Same arrivals and same requests for every policy.
            seed: 17,
            next: () => requests.next(),
            drainTimeoutMs: settings.drainTimeoutMs,
            onRequest: (sample) => slo.record(sample),
          });
          const after = await scrapeMetrics(gateway.baseUrl);
          const s = summarise({ before, after, slo, offered: result.offered });
          summary[policy] = s;
          runs[policy] = { ...result, tpot: slo.tpot.summary() };
        } finally {
          await gateway.stop();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return {
      config: { gatewayConfig: TEMPLATE, ...settings, workload },
      results: { "open loop": runs, summary },
      notes: notes(runs, summary, settings.rate),
    };
  },
};

interface PoolConfig {
  models: { routing?: Record<string, unknown> }[];
}

function withPolicy(template: PoolConfig, policy: PolicyName): PoolConfig {
  const copy = structuredClone(template);
  for (const model of copy.models) model.routing = { ...model.routing, policy };
  return copy;
}

/** Counts requests meeting both targets; a request that failed or never finished counts as a miss. */
class SloCounter {
  readonly tpot = new LatencyHistogram();
  met = 0;
  ttftMet = 0;
  tpotMet = 0;
  readonly #targets: { ttftMs: number; tpotMs: number };

  constructor(targets: { ttftMs: number; tpotMs: number }) {
    this.#targets = targets;
  }

  record(sample: RequestSample): void {
    if (!sample.ok || sample.ttftMs === undefined) return;
    const ttftOk = sample.ttftMs <= this.#targets.ttftMs;
    // One token has no inter-token time: only its TTFT can miss.
    const tpotMs =
      sample.completionTokens > 1
        ? (sample.e2eMs - sample.ttftMs) / (sample.completionTokens - 1)
        : undefined;
    if (tpotMs !== undefined) this.tpot.record(Math.max(0, tpotMs));
    const tpotOk = tpotMs === undefined || tpotMs <= this.#targets.tpotMs;
    if (ttftOk) this.ttftMet++;
    if (tpotOk) this.tpotMet++;
    if (ttftOk && tpotOk) this.met++;
  }
}

interface PolicySummary {
  /** Share of offered requests that met both targets. */
  sloAttainment: number;
  ttftAttainment: number;
  tpotAttainment: number;
  /** Mean GPU cost per response, USD (tollgate_cost_usd_total / tollgate_response_cost_usd_count). */
  costPerResponseUsd: number;
  responses: number;
  /** Share of routing decisions per deployment (tollgate_routing_decisions_total). */
  deploymentShare: Record<string, number>;
}

function summarise(o: ScrapePair & { slo: SloCounter; offered: number }): PolicySummary {
  const costUsd = metricDelta(o, "tollgate_cost_usd_total");
  const responses = metricDelta(o, "tollgate_response_cost_usd_count");
  const decisions = metricDeltaBy(o, "tollgate_routing_decisions_total", "deployment");
  const totalDecisions = [...decisions.values()].reduce((a, b) => a + b, 0);
  const share = (n: number) => (o.offered > 0 ? n / o.offered : 0);
  return {
    sloAttainment: share(o.slo.met),
    ttftAttainment: share(o.slo.ttftMet),
    tpotAttainment: share(o.slo.tpotMet),
    costPerResponseUsd: responses > 0 ? costUsd / responses : 0,
    responses,
    deploymentShare: Object.fromEntries(
      [...decisions].map(([name, n]) => [name, totalDecisions > 0 ? n / totalDecisions : 0]),
    ),
  };
}

function notes(
  runs: Record<string, unknown>,
  summary: Record<string, PolicySummary>,
  rate: number,
): string[] {
  const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
  const lines = Object.entries(summary).map(([policy, s]) => {
    const run = runs[policy] as {
      ok: number;
      sent: number;
      ttft: { p50: number; p99: number };
      e2e: { p50: number; p99: number };
      completionTokensPerSecond: number;
    };
    const shares = Object.entries(s.deploymentShare)
      .map(([name, x]) => `${name.replace(/^llama-8b-/, "")} ${pct(x)}`)
      .join(", ");
    return (
      `${policy}: SLO ${pct(s.sloAttainment)} (TTFT ${pct(s.ttftAttainment)}, TPOT ${pct(s.tpotAttainment)}); ` +
      `TTFT p50/p99 ${run.ttft.p50.toFixed(0)}/${run.ttft.p99.toFixed(0)} ms, e2e p50/p99 ` +
      `${run.e2e.p50.toFixed(0)}/${run.e2e.p99.toFixed(0)} ms, ${run.completionTokensPerSecond.toFixed(0)} tokens/s; ` +
      `$${(s.costPerResponseUsd * 1000).toFixed(3)} per 1k responses; ${run.ok}/${run.sent} ok; served: ${shares}`
    );
  });
  const best = Object.entries(summary).sort((a, b) => b[1].sloAttainment - a[1].sloAttainment)[0];
  const cheapest = Object.entries(summary).sort(
    (a, b) => a[1].costPerResponseUsd - b[1].costPerResponseUsd,
  )[0];
  return [
    `offered ${rate} req/s (Poisson) of streamed chat to 2 x H100 (one at 3x step time), A100, L4 int4; SLO: TTFT <= ${SLO.ttftMs} ms and TPOT <= ${SLO.tpotMs} ms, over offered requests (failed or unfinished ones count as misses; latencies, tokens/s and cost cover finished responses only)`,
    ...lines,
    ...("lowest-cost" in summary
      ? [
          "requests carry no SLO class yet (x-tollgate-slo-class is not read), so lowest-cost holds them to its default bounds (MLPerf Llama-3.1-8B server scenario: TTFT 2 s, TPOT 100 ms)",
        ]
      : []),
    ...(best === undefined || cheapest === undefined
      ? []
      : [
          `best SLO attainment: ${best[0]} (${pct(best[1].sloAttainment)}); cheapest per response: ${cheapest[0]}`,
        ]),
  ];
}
