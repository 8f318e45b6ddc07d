/**
 * Cost of a response. A replica's accelerators are billed by the hour whether busy or not; a response is
 * charged the accelerator-seconds of the engine steps it took part in (the engine splits each step among its
 * sequences by tokens), at the replica's price. Idle time is not in any response's cost; it is the fleet's
 * utilisation gap, reported separately.
 */
export function responseCostUsd(gpuSeconds: number, pricePerGpuHourUsd: number): number {
  return (gpuSeconds * pricePerGpuHourUsd) / 3600;
}
