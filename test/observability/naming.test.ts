import { describe, expect, it } from "vitest";
import { createMetrics } from "../../src/metrics/metrics.js";
import { createVllmMetrics } from "../../src/metrics/vllm-metrics.js";
import { parsePrometheusText } from "../helpers/prometheus.js";

/**
 * Every metric name against Prometheus's naming conventions (https://prometheus.io/docs/practices/naming/):
 * a `tollgate_` prefix, snake case, counters ending in `_total`, base units spelled out in the name (seconds,
 * bytes, usd, bits, ratio), no milliseconds; and the exposition parses strictly.
 */
const UNITLESS_OK = new Set([
  // Counts and states: Prometheus names these without a unit.
  "tollgate_generations_in_flight",
  "tollgate_replica_ready",
  "tollgate_replica_requests_running",
  "tollgate_replica_requests_waiting",
  "tollgate_replica_outstanding_requests",
  "tollgate_replica_breaker_state",
  "tollgate_cache_shared_generations_in_flight",
  "tollgate_cache_semantic_index_entries",
  "tollgate_store_up",
  "tollgate_store_entries",
  "tollgate_queue_depth",
  "tollgate_pool_concurrency_limit",
  "tollgate_pool_in_flight",
  "tollgate_pool_prefill_backlog_tokens",
  "tollgate_batch_size",
]);
const UNIT = /_(seconds|bytes|usd|bits|ratio|per_second)(_total)?$|_total$/;

describe("metric names", () => {
  const metrics = createMetrics({ processMetrics: false });
  // prom-client's MetricType enum values are the exposition's type names.
  const all = metrics.registry.getMetricsAsArray().map((m) => ({ name: m.name, type: String(m.type) }));

  it("follow the conventions", () => {
    expect(all.length).toBeGreaterThan(60);
    for (const { name, type } of all) {
      expect(name, name).toMatch(/^tollgate_[a-z][a-z0-9_]*[a-z0-9]$/);
      expect(name, name).not.toMatch(/millis|_ms$|_ms_/);
      if (type === "counter") expect(name, `${name} is a counter`).toMatch(/_total$/);
      else expect(name, `${name} is a ${type}`).not.toMatch(/_total$/);
      if (!UNITLESS_OK.has(name)) expect(name, `${name} names its unit`).toMatch(UNIT);
    }
  });

  it("keep vLLM's names on the backend server, so vLLM dashboards work", () => {
    const vllm = createVllmMetrics({
      registry: metrics.registry,
      maxModelLen: 4096,
      modelNames: ["m"],
      engines: () => [],
    });
    void vllm;
    const names = metrics.registry.getMetricsAsArray().map((m) => m.name);
    for (const name of [
      "vllm:num_requests_running",
      "vllm:num_requests_waiting",
      "vllm:time_to_first_token_seconds",
      "vllm:e2e_request_latency_seconds",
    ]) {
      expect(names).toContain(name);
    }
  });

  it("expose text that a strict parser reads, with HELP and TYPE for each family", async () => {
    const fresh = createMetrics({ processMetrics: false });
    fresh.costTotal.inc({ model: "m", deployment: "d", tier: "pro" }, 0.5);
    fresh.ttft.observe({ model: "m", deployment: "d" }, 0.2);
    const text = await fresh.registry.metrics();
    const samples = parsePrometheusText(text);
    expect(samples.find((s) => s.name === "tollgate_cost_usd_total")?.labels).toEqual({
      model: "m",
      deployment: "d",
      tier: "pro",
    });
    for (const { name } of fresh.registry.getMetricsAsArray()) {
      expect(text, name).toContain(`# HELP ${name} `);
      expect(text, name).toContain(`# TYPE ${name} `);
    }
  });
});
