import type { Logger } from "pino";
import type { Backend } from "./backends/backend.js";
import { FaultInjectingBackend } from "./backends/fault-injection.js";
import { createBackends } from "./backends/registry.js";
import { servedContextLength } from "./config/catalogs.js";
import type { Config } from "./config/schema.js";
import type { Clock } from "./core/clock.js";
import { Gateway } from "./core/gateway.js";
import { hashString, SeededRandom } from "./core/random.js";
import { createCl100kTokenizer } from "./core/tokenizer.js";
import { createApp } from "./http/app.js";
import { createMetrics, type Metrics } from "./metrics/metrics.js";

/**
 * The composition root: turns a validated config into the running pieces. Tests and the simulator call it with
 * a VirtualClock; the server calls it with the SystemClock.
 */
export interface Composed {
  gateway: Gateway;
  metrics: Metrics;
  app: ReturnType<typeof createApp>;
}

export interface ComposeOptions {
  config: Config;
  clock: Clock;
  logger: Logger;
  /** Collect Node.js process metrics (off in unit tests to keep scrapes small). */
  processMetrics?: boolean;
  isDraining?: () => boolean;
  /**
   * Wraps each replica before the gateway sees it (the backend server observes its replica's generations for
   * vLLM's metrics this way). Default: the replicas as built.
   */
  wrapBackend?: (backend: Backend) => Backend;
}

export function compose(options: ComposeOptions): Composed {
  const { config, clock, logger } = options;
  // Every replica is wrapped so the admin API can inject faults at run time (a no-op pass-through otherwise).
  const wrap = options.wrapBackend ?? ((backend: Backend) => backend);
  const backends = createBackends({ config, clock }).map(
    (backend) =>
      new FaultInjectingBackend(wrap(backend), {
        clock,
        random: new SeededRandom(hashString(`faults:${backend.replica.id}`, config.seed >>> 0)),
      }),
  );
  let gateway: Gateway | undefined;
  const metrics = createMetrics({
    processMetrics: options.processMetrics ?? true,
    replicaSamples: () => gateway?.replicaSamples() ?? [],
  });
  gateway = new Gateway({
    models: config.models.map((m) => ({
      id: m.id,
      ownedBy: m.ownedBy,
      contextLength: servedContextLength(config, m.id),
      aliases: m.aliases,
      fallbacks: m.fallbacks,
      canary: m.canary,
      ...(m.shadow !== undefined && { shadow: m.shadow }),
      routing: m.routing,
    })),
    deploymentWeights: Object.fromEntries(config.deployments.map((d) => [d.name, d.weight])),
    seed: config.seed,
    backends,
    clock,
    tokenizer: createCl100kTokenizer(),
    metrics,
    logger,
  });
  const app = createApp({
    gateway,
    metrics,
    logger,
    clock,
    bodyLimitBytes: config.server.bodyLimitBytes,
    exposeRoutingHeaders: config.server.exposeRoutingHeaders,
    ...(config.admin.enabled && {
      admin: { replicas: new Map(backends.map((b) => [b.replica.id, b])), key: config.admin.key },
    }),
    ...(options.isDraining && { isDraining: options.isDraining }),
  });
  return { gateway, metrics, app };
}
