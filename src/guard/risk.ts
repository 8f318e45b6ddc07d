/**
 * The risk that a request is automated abuse, 0-1, from what the gateway can see cheaply. Weights are a
 * stated policy, not a trained model:
 *   0.30  no API key (anonymous)
 *   0.35  x the client's recent rate as a share of the flood rate (capped at 1)
 *   0.15  x burstiness: its rate over the last second against the flood rate (capped at 1)
 *   0.20  x gateway load (queue pressure, 0-1)
 *   0.30  x bad history: failed verifications and invalid passes (capped at 1 from 3 on)
 * Only challengeable clients are scored (Guard.admit): anonymous ones, and keys of tenants with `challenge:
 * adaptive`; other keys are governed by their limits, since an SDK cannot solve a proof-of-work. At the 0.5
 * default threshold an anonymous client is challenged when it floods (100 requests in a few seconds: 0.30 +
 * 0.18 + 0.15) or when it is active while the gateway is loaded (0.30 + 0.20 at full queue pressure). An
 * opted-in key has no no-key term: it reaches 0.5 by holding the flood rate (0.35 + 0.15), or near it under load.
 */
export interface RiskInput {
  anonymous: boolean;
  /** Requests per second over the rate window. */
  ratePerSecond: number;
  /** Requests in the last second. */
  lastSecond: number;
  floodRatePerSecond: number;
  /** 0 (idle) to 1 (queues as deep as the slots). */
  load: number;
  /** Failed verifications and invalid passes recently. */
  failures: number;
}

export function riskScore(input: RiskInput): number {
  const clamp = (x: number) => Math.min(1, Math.max(0, x));
  const score =
    (input.anonymous ? 0.3 : 0) +
    0.35 * clamp(input.ratePerSecond / input.floodRatePerSecond) +
    0.15 * clamp(input.lastSecond / input.floodRatePerSecond) +
    0.2 * clamp(input.load) +
    0.3 * clamp(input.failures / 3);
  return clamp(score);
}

/**
 * Leading zero bits asked of a client at this risk: the minimum at the threshold, rising linearly to the
 * maximum at risk 1 (load and rate are in the risk, so difficulty falls back as a surge ends).
 */
export function difficultyFor(
  risk: number,
  settings: { threshold: number; minDifficulty: number; maxDifficulty: number },
): number {
  const { threshold, minDifficulty, maxDifficulty } = settings;
  const over = threshold >= 1 ? 1 : Math.min(1, Math.max(0, (risk - threshold) / (1 - threshold)));
  return Math.round(minDifficulty + over * (maxDifficulty - minDifficulty));
}
