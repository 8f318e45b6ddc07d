import { Registry } from "prom-client";
import { createAccountingMetrics } from "./accounting-metrics.js";
import { createCacheMetrics } from "./cache-metrics.js";
import { createGenerationMetrics } from "./generation-metrics.js";
import { createGuardMetrics } from "./guard-metrics.js";
import { createHttpMetrics } from "./http-metrics.js";
import { createMetrics } from "./metrics.js";
import { createReplicaMetrics } from "./replica-metrics.js";
import { createRoutingMetrics } from "./routing-metrics.js";
import { createSchedulingMetrics } from "./scheduling-metrics.js";
import { createStoreMetrics } from "./store-metrics.js";
import { createVllmMetrics } from "./vllm-metrics.js";

/**
 * docs/metrics.md, rendered from the registries themselves (names, types, labels, help, buckets), so the doc
 * cannot drift from what /metrics serves: test/metrics/metrics-doc.test.ts fails when the committed file differs
 * from this rendering. Regenerate with `npx tsx scripts/metrics-doc.ts`.
 */

/** One metric as the registry defines it. */
export interface MetricDescription {
  name: string;
  type: string;
  help: string;
  labels: readonly string[];
  /** Upper bounds of a histogram's buckets (+Inf implied). */
  buckets?: readonly number[];
}

/** A section of the doc: one area's metrics, registered on a scratch registry to learn which they are. */
export interface MetricArea {
  title: string;
  file: string;
  register: (registry: Registry) => void;
}

/**
 * The gateway's areas, in the order of a request's path; test/metrics/metrics-doc.test.ts checks that together
 * they hold exactly the metrics createMetrics registers.
 */
export const GATEWAY_AREAS: readonly MetricArea[] = [
  { title: "HTTP API", file: "http-metrics.ts", register: (r) => createHttpMetrics(r) },
  {
    title: "Guard: rate limits and challenges",
    file: "guard-metrics.ts",
    register: (r) => createGuardMetrics(r),
  },
  { title: "Response cache", file: "cache-metrics.ts", register: (r) => createCacheMetrics(r) },
  {
    title: "Shared store",
    file: "store-metrics.ts",
    register: (r) => createStoreMetrics(r, () => undefined),
  },
  {
    title: "SLO classes, admission, queues and batching",
    file: "scheduling-metrics.ts",
    register: (r) => createSchedulingMetrics(r, () => []),
  },
  {
    title: "Routing: retries, fallbacks, canary, shadow",
    file: "routing-metrics.ts",
    register: (r) => createRoutingMetrics(r),
  },
  {
    title: "Generations and latency",
    file: "generation-metrics.ts",
    register: (r) => createGenerationMetrics(r),
  },
  { title: "Replicas", file: "replica-metrics.ts", register: (r) => createReplicaMetrics(r, () => []) },
  { title: "Cost and revenue", file: "accounting-metrics.ts", register: (r) => createAccountingMetrics(r) },
];

/** The context length the doc shows the backend server's token-count buckets for (they scale with it). */
export const DOC_MAX_MODEL_LEN = 4096;

/** prom-client keeps labels and buckets on the metric object at run time; its typings do not declare them. */
function definition(metric: object): { labelNames?: unknown; upperBounds?: unknown } {
  return metric;
}

export function describeRegistry(registry: Registry): MetricDescription[] {
  return registry.getMetricsAsArray().map((metric) => {
    const { labelNames, upperBounds } = definition(metric);
    const labels = Array.isArray(labelNames) ? labelNames.map(String) : [];
    // prom-client's MetricType enum values are the exposition's type names.
    const type = String(metric.type);
    const buckets = Array.isArray(upperBounds) ? upperBounds.map(Number) : undefined;
    return { name: metric.name, type, help: metric.help, labels, ...(buckets && { buckets }) };
  });
}

/** The gateway's metrics (no process metrics: those depend on the platform). */
export function gatewayMetrics(): MetricDescription[] {
  return describeRegistry(createMetrics({ processMetrics: false }).registry);
}

/** The vLLM-named metrics `tollgate backend` adds to the gateway's registry. */
export function vllmMetrics(): MetricDescription[] {
  const registry = new Registry();
  createVllmMetrics({ registry, engines: () => [], maxModelLen: DOC_MAX_MODEL_LEN });
  return describeRegistry(registry);
}

export function areaMetrics(area: MetricArea): MetricDescription[] {
  const registry = new Registry();
  area.register(registry);
  return describeRegistry(registry);
}

const cell = (text: string) => text.replaceAll("|", "\\|");

function table(metrics: readonly MetricDescription[]): string[] {
  const lines = ["| metric | type | labels | help |", "|---|---|---|---|"];
  for (const m of metrics) {
    lines.push(`| \`${m.name}\` | ${m.type} | ${m.labels.join(", ")} | ${cell(m.help)} |`);
  }
  const histograms = metrics.filter((m) => m.buckets !== undefined);
  if (histograms.length > 0) {
    lines.push("", "Bucket upper bounds (and +Inf):", "");
    for (const m of histograms) lines.push(`- \`${m.name}\`: ${m.buckets?.join(", ")}`);
  }
  return lines;
}

const INTRO = `# Metrics

<!-- Generated by \`npx tsx scripts/metrics-doc.ts\` from the registries (src/metrics/); do not edit by hand.
     test/metrics/metrics-doc.test.ts fails when this file is stale. -->

\`GET /metrics\` serves one prom-client registry. Each area of the gateway declares its own metrics once, in its
own file under \`src/metrics/\`; \`createMetrics\` (\`src/metrics/metrics.ts\`) puts them all in that registry.
Names follow Prometheus conventions (base units in the name, \`_total\` on counters). Label values are bounded by
the configuration (\`model\` is a configured id or \`unknown\`, \`deployment\`, \`replica\`, \`tier\`, \`endpoint\`,
\`status\`, closed sets of outcomes and reasons), never a user, key or prompt.

Useful queries: output throughput \`sum by (model) (rate(tollgate_generation_tokens_total[1m]))\`; cost per
response p50 \`histogram_quantile(0.5, sum by (le, model) (rate(tollgate_response_cost_usd_bucket[5m])))\`; mean
cost per response \`rate(tollgate_cost_usd_total[5m]) / rate(tollgate_response_cost_usd_count[5m])\`; utilisation
\`rate(tollgate_replica_busy_seconds_total[1m])\`; goodput
\`sum by (model) (rate(tollgate_slo_requests_total{target="all",result="met"}[5m]))\`.`;

const PROCESS = `## Node.js process

\`process_*\` and \`nodejs_*\`: prom-client's default metrics (CPU, memory, event-loop lag, GC, handles), in the
same registry. Which ones exist depends on the platform; the offline simulator does not collect them.`;

const VLLM = `## Backend server: vLLM's names (\`vllm-metrics.ts\`)

\`tollgate backend\` serves one simulated replica as its own OpenAI-compatible server. Its registry holds every
metric above and, under vLLM's own names (\`vllm/v1/metrics/loggers.py\`), these, so dashboards and autoscalers
built for vLLM read it unchanged. The token-count histograms use vLLM's 1-2-5 buckets up to the served context
length (shown here for ${DOC_MAX_MODEL_LEN} tokens).`;

export function renderMetricsDoc(): string {
  const sections = [INTRO];
  for (const area of GATEWAY_AREAS) {
    sections.push([`## ${area.title} (\`${area.file}\`)`, "", ...table(areaMetrics(area))].join("\n"));
  }
  sections.push(PROCESS, [VLLM, "", ...table(vllmMetrics())].join("\n"));
  return `${sections.join("\n\n")}\n`;
}
