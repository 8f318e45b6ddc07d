import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  areaMetrics,
  GATEWAY_AREAS,
  gatewayMetrics,
  type MetricDescription,
  renderMetricsDoc,
  vllmMetrics,
} from "../../src/metrics/metrics-doc.js";
import { readText } from "../observability/files.js";
import { registrySeriesNames } from "../observability/registry.js";

describe("docs/metrics.md", () => {
  it("is what the registries render (regenerate: npx tsx scripts/metrics-doc.ts)", () => {
    expect(readText("docs/metrics.md")).toBe(renderMetricsDoc());
  });

  it("has a section for every metric of the gateway's registry, each in exactly one area", () => {
    const byName = (a: MetricDescription, b: MetricDescription) => a.name.localeCompare(b.name);
    const inAreas = GATEWAY_AREAS.flatMap((area) => areaMetrics(area)).sort(byName);
    const registered = gatewayMetrics().sort(byName);
    expect(inAreas.map((m) => m.name)).toEqual(registered.map((m) => m.name));
    expect(inAreas).toEqual(registered);
  });

  it("names every tollgate series Prometheus can hold", async () => {
    const doc = readText("docs/metrics.md");
    for (const series of await registrySeriesNames()) {
      if (!series.startsWith("tollgate_")) continue;
      const family = series.replace(/_(bucket|sum|count)$/, "");
      expect(doc.includes(`\`${series}\``) || doc.includes(`\`${family}\``), series).toBe(true);
    }
  });

  it("lists the backend server's vLLM names, with their buckets", () => {
    const doc = readFileSync(new URL("../../docs/metrics.md", import.meta.url), "utf8");
    const vllm = vllmMetrics();
    expect(vllm.length).toBeGreaterThan(10);
    for (const m of vllm) expect(doc).toContain(`| \`${m.name}\` | ${m.type} |`);
    expect(doc).toContain("- `vllm:time_to_first_token_seconds`: 0.001, 0.005,");
  });
});
