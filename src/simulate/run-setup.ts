import type { Composed } from "../compose.js";
import type { Config } from "../config/schema.js";

/** Client n as an address in 10.0.0.0/8 (n < 2^24): the peer the guard sees for a simulated client. */
export function clientAddress(client: number): string {
  return `10.${(client >>> 16) & 255}.${(client >>> 8) & 255}.${client & 255}`;
}

/**
 * The config a simulation runs: every simulated deployment generating until max_tokens (so outputs have exact
 * lengths), and the store in memory whatever the file or REDIS_URL say. A shared Redis would carry cache entries
 * and rate-limit counters from one run into the next, and its expiry runs on wall time, not the virtual clock.
 */
export function simulationConfig(config: Config): Config {
  const output = { lengthMedian: 1e9, lengthSigma: 0 };
  const { url: _url, ...store } = config.store;
  return {
    ...config,
    store,
    defaults: { ...config.defaults, output },
    deployments: config.deployments.map((d) =>
      d.backend.type === "simulated" ? { ...d, backend: { ...d.backend, output } } : d,
    ),
  };
}

/** What the replicas cost over the run, busy or idle: the sum of tollgate_replica_spend_usd_total. */
export async function replicaSpendUsd(composed: Composed): Promise<number> {
  const metric = composed.metrics.registry.getSingleMetric("tollgate_replica_spend_usd_total");
  if (metric === undefined) return 0;
  const { values } = await metric.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}
