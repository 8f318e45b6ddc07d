import { spendUsd } from "../accounting/cost.js";
import type { ReplicaGaugeSample } from "../metrics/metrics.js";
import type { ReplicaPool } from "../routing/pool.js";

const BREAKER_STATE_VALUE = { closed: 0, "half-open": 1, open: 2 } as const;

/**
 * Each replica's state at scrape time: readiness (its own and its health checks'), load, throughput, breaker,
 * engine counters, and what it has cost since the replicas went into service at `startedMs` (spend, and the
 * idle part of it for replicas that report busy time).
 */
export function sampleReplicas(
  pools: readonly ReplicaPool[],
  nowMs: number,
  startedMs: number,
): ReplicaGaugeSample[] {
  const samples: ReplicaGaugeSample[] = [];
  const uptime = Math.max(0, nowMs - startedMs) / 1000;
  for (const pool of pools) {
    for (const { backend, tokens, breaker, outstanding, health } of pool.members) {
      const raw = backend.snapshot();
      const stats = backend.stats?.();
      const { gpuCount, pricePerGpuHourUsd: price } = backend.replica;
      samples.push({
        replica: backend.replica.id,
        deployment: backend.replica.deployment,
        model: backend.replica.model,
        ...raw,
        ready: raw.ready && health.healthy,
        generationTokensPerSecond: tokens.perSecond(),
        outstanding,
        breakerState: BREAKER_STATE_VALUE[breaker.state(nowMs)],
        spendUsd: spendUsd(uptime, gpuCount, price),
        ...(stats && {
          idleCostUsd: spendUsd(Math.max(0, uptime - stats.busyMs / 1000), gpuCount, price),
          engine: {
            preemptions: stats.preemptions,
            prefixCacheQueries: stats.prefixCacheQueries,
            prefixCacheHits: stats.prefixCacheHits,
            busySeconds: stats.busyMs / 1000,
          },
        }),
      });
    }
  }
  return samples;
}
