import { Counter, Histogram, type Registry } from "prom-client";

/** Cost per response in USD: a 1-2-5 ladder from a hundred-thousandth of a cent to a dollar. */
export const COST_BUCKETS = [
  1e-7, 2e-7, 5e-7, 1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2,
  0.1, 1,
];

/** Money is also split by client tier (configured tiers, "anonymous", or "none" without the guard). */
const COST_LABELS = ["model", "deployment", "tier"] as const;

/**
 * Metrics of what responses cost and earn: GPU cost, list-price revenue and accelerator-seconds per response
 * (src/accounting/). Labels: model, deployment and tier, all configured.
 */
export function createAccountingMetrics(registry: Registry) {
  return {
    responseCost: new Histogram({
      name: "tollgate_response_cost_usd",
      help: "GPU cost of one response: GPU-seconds x price per GPU-hour / 3600 of the replica that served it (0 from the cache).",
      labelNames: COST_LABELS,
      buckets: COST_BUCKETS,
      registers: [registry],
    }),
    costTotal: new Counter({
      name: "tollgate_cost_usd_total",
      help: "GPU cost attributed to responses, in USD.",
      labelNames: COST_LABELS,
      registers: [registry],
    }),
    responseRevenue: new Histogram({
      name: "tollgate_response_revenue_usd",
      help: "List-price revenue of one response: prompt and completion tokens x the model's price per million.",
      labelNames: COST_LABELS,
      buckets: COST_BUCKETS,
      registers: [registry],
    }),
    revenueTotal: new Counter({
      name: "tollgate_revenue_usd_total",
      help: "List-price revenue of responses, in USD (margin = revenue - cost).",
      labelNames: COST_LABELS,
      registers: [registry],
    }),
    gpuSeconds: new Counter({
      name: "tollgate_gpu_seconds_total",
      help: "Accelerator-seconds attributed to responses (step time x GPUs, shared by tokens in the step).",
      labelNames: ["model", "deployment"] as const,
      registers: [registry],
    }),
  };
}
