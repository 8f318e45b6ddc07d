import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { htmlReport } from "../../src/simulate/html-report.js";
import { simulate } from "../../src/simulate/runner.js";
import { CHAT_LENGTHS, type WorkloadSpec } from "../../src/simulate/workload.js";

const CONFIG = parseConfig({
  models: [{ id: "qwen", profile: "Qwen2.5-0.5B" }],
  deployments: [{ name: "l4", model: "qwen", replicas: 2, backend: { type: "simulated", hardware: "L4" } }],
});

const WORKLOAD: WorkloadSpec = {
  rate: 4,
  durationS: 30,
  model: "qwen",
  ...CHAT_LENGTHS,
  sloClassMix: {},
  clients: 50,
  temperature: 1,
};

describe("simulation series and HTML report", () => {
  it("fills the series: responses add up, busy time and KV usage show while serving", async () => {
    const report = await simulate({ config: CONFIG, workload: WORKLOAD, seed: 3 });
    const { points, bucketSeconds } = report.series;
    expect(bucketSeconds).toBe(1);
    expect(points.length).toBe(Math.ceil(report.simulatedSeconds));
    expect(points.reduce((n, p) => n + p.completed, 0)).toBe(report.completed);
    expect(Math.max(...points.map((p) => p.utilization))).toBeGreaterThan(0);
    expect(Math.max(...points.map((p) => p.kvCacheUsageMax))).toBeGreaterThan(0);
    for (const p of points) expect(p.utilization).toBeLessThanOrEqual(1);
    expect(report.cost.perResponseBins.reduce((n, b) => n + b.count, 0)).toBe(report.completed);
  });

  it("keeps the series bounded on a run longer than the cap", async () => {
    const workload = { ...WORKLOAD, rate: 0.5, durationS: 200 };
    const report = await simulate({ config: CONFIG, workload, seed: 4, series: { maxBuckets: 16 } });
    expect(report.series.points.length).toBeLessThanOrEqual(16);
    expect(report.series.bucketSeconds).toBe(16);
    expect(report.series.points.reduce((n, p) => n + p.completed, 0)).toBe(report.completed);
  });

  it("renders every section as inline SVG, with no external resource", async () => {
    const report = await simulate({ config: CONFIG, workload: { ...WORKLOAD, durationS: 10 }, seed: 5 });
    const html = htmlReport(report);
    for (const id of [
      "summary",
      "latency-over-time",
      "cost-per-response",
      "utilization-over-time",
      "queue-depth-over-time",
      "kv-cache-usage-over-time",
    ])
      expect(html).toContain(`<section id="${id}">`);
    expect(html).toContain(`<td>${report.requests}</td>`);
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs).toHaveLength(6);
    for (const svg of svgs) {
      expect(svg).toMatch(/^<svg viewBox="0 0 \d+ \d+"/);
      expect(svg).toMatch(/<(path|rect) /);
      expect(svg).not.toMatch(/NaN|undefined|Infinity/);
      // Balanced elements: every opened element is closed or self-closing.
      const opened = (svg.match(/<(text|title|svg)[ >]/g) ?? []).length;
      const closed = (svg.match(/<\/(text|title|svg)>/g) ?? []).length;
      expect(opened).toBe(closed);
    }
    expect(html).not.toMatch(/https?:|<script|<link|\ssrc=|url\(/i);
  });
});
