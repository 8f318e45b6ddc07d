import type { Usage } from "../core/types.js";

/**
 * Cost and revenue of a response.
 *
 * Cost: a replica's accelerators are billed by the hour whether busy or not; a response is charged the
 * accelerator-seconds of the engine steps it took part in (the engine splits each step among its sequences
 * by tokens), at the replica's price:  cost = GPU-seconds x price per GPU-hour / 3600.
 * Over a run, the responses' costs add up to the replicas' busy cost (busy seconds x GPUs x price / 3600),
 * less work for generations that never finished (aborted, failed); the rest of the spend is idle time:
 *     spend = uptime x GPUs x price / 3600 = busy cost + idle cost.
 *
 * Revenue: list price of the tokens, per million, from the model's `pricing`:
 *     revenue = prompt tokens x input price / 1e6 + completion tokens x output price / 1e6;
 * margin = revenue - cost (a cache hit earns its revenue at zero cost).
 */
export function responseCostUsd(gpuSeconds: number, pricePerGpuHourUsd: number): number {
  return (gpuSeconds * pricePerGpuHourUsd) / 3600;
}

export interface TokenPricing {
  inputPerMillionUsd: number;
  outputPerMillionUsd: number;
}

export function responseRevenueUsd(
  usage: Pick<Usage, "promptTokens" | "completionTokens">,
  pricing: TokenPricing | undefined,
): number {
  if (pricing === undefined) return 0;
  return (
    (usage.promptTokens * pricing.inputPerMillionUsd + usage.completionTokens * pricing.outputPerMillionUsd) /
    1e6
  );
}

/** Accelerator spend of a replica over `seconds`. */
export function spendUsd(seconds: number, gpuCount: number, pricePerGpuHourUsd: number): number {
  return (seconds * gpuCount * pricePerGpuHourUsd) / 3600;
}
