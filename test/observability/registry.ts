import { createMetrics } from "../../src/metrics/metrics.js";

/**
 * The series names Prometheus can hold for Tollgate's registry: a counter or gauge under its own name, a
 * histogram X only as X_bucket, X_sum and X_count (a bare X has no samples).
 */
export async function registrySeriesNames(): Promise<Set<string>> {
  const { registry } = createMetrics();
  const names = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    // prom-client's typings declare an enum; at run time the type is its string ("histogram").
    if (String(metric.type) === "histogram") {
      for (const suffix of ["_bucket", "_sum", "_count"]) names.add(metric.name + suffix);
    } else {
      names.add(metric.name);
    }
  }
  return names;
}

/** Counter names in the registry (read only through rate()/increase()). */
export async function registryCounterNames(): Promise<string[]> {
  const { registry } = createMetrics();
  const metrics = await registry.getMetricsAsJSON();
  return metrics.filter((m) => String(m.type) === "counter").map((m) => m.name);
}
