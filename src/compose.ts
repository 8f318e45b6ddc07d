import type { Logger } from "pino";
import { responseRevenueUsd, type TokenPricing } from "./accounting/cost.js";
import type { Backend } from "./backends/backend.js";
import { FaultInjectingBackend } from "./backends/fault-injection.js";
import { createBackends } from "./backends/registry.js";
import { type ModelCachePolicy, ResponseCache } from "./cache/response-cache.js";
import { servedContextLength } from "./config/profiles.js";
import type { Config } from "./config/schema.js";
import type { Clock } from "./core/clock.js";
import { hashString, SeededRandom } from "./core/random.js";
import { createCl100kTokenizer } from "./core/tokenizer.js";
import { Guard } from "./guard/guard.js";
import { createApp } from "./http/app.js";
import { isLoopbackHost } from "./http/connection.js";
import { createMetrics, type Metrics } from "./metrics/metrics.js";
import { Gateway } from "./pipeline/gateway.js";
import { Pipeline } from "./pipeline/pipeline.js";
import { Scheduler } from "./scheduling/scheduler.js";
import { SloClasses } from "./scheduling/slo.js";
import { openStore } from "./store/index.js";
import type { Store } from "./store/store.js";

/**
 * The composition root: turns a validated config into the running pieces. Tests and the simulator call it with
 * a VirtualClock; the server calls it with the SystemClock.
 */
export interface Composed {
  gateway: Gateway;
  cache: ResponseCache;
  scheduler: Scheduler;
  pipeline: Pipeline;
  guard: Guard;
  store: Store;
  metrics: Metrics;
  app: ReturnType<typeof createApp>;
  /** Resolves once the shared store's first connection attempt settled (immediately for the memory store). */
  ready(): Promise<void>;
  /** Closes the gateway (backends, health checks) and the store. */
  close(): Promise<void>;
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
  const { store, ready } = openStore({
    url: config.store.url,
    keyPrefix: config.store.keyPrefix,
    maxBytes: config.store.maxBytes,
    connectTimeoutMs: config.store.connectTimeoutMs,
    commandTimeoutMs: config.store.commandTimeoutMs,
    probeIntervalMs: config.store.probeIntervalMs,
    clock,
    onStateChange: (connected) => {
      if (connected) logger.info({ store: "redis" }, "shared store reachable again; using it");
      else
        logger.warn(
          { store: "redis" },
          "shared store unreachable; serving from local memory until it returns",
        );
    },
  });
  let gateway: Gateway | undefined;
  let scheduler: Scheduler | undefined;
  const metrics = createMetrics({
    queueSamples: () => scheduler?.queueSamples() ?? [],
    poolSamples: () => scheduler?.poolSamples() ?? [],
    processMetrics: options.processMetrics ?? true,
    replicaSamples: () => gateway?.replicaSamples() ?? [],
    storeSample: () => ({ kind: store.kind, ...store.stats() }),
  });
  const served = new Gateway({
    models: config.models.map((m) => ({
      id: m.id,
      ownedBy: m.ownedBy,
      contextLength: servedContextLength(config, m.id),
      aliases: m.aliases,
      fallbacks: m.fallbacks,
      canary: m.canary,
      ...(m.shadow !== undefined && { shadow: m.shadow }),
      ...(m.pricing !== undefined && { pricing: m.pricing }),
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
  gateway = served;
  const classes = new SloClasses(config.scheduling.classes, config.scheduling.defaultClass);
  const admitted = new Scheduler({
    enabled: config.scheduling.enabled,
    classes,
    tenantMaxShare: config.scheduling.tenantMaxShare,
    models: config.models.map((m) => ({
      id: m.id,
      replicas: backends.filter((b) => b.replica.model === m.id).map((b) => b.replica),
      settings: m.scheduling,
    })),
    clock,
    metrics,
    downstream: (request, signal) => served.generate(request, signal),
    retarget: (request, model) => served.retargetTo(request, model),
  });
  scheduler = admitted;
  const pricing = new Map<string, TokenPricing>(
    config.models.flatMap((m) => (m.pricing ? [[m.id, m.pricing]] : [])),
  );
  const cache = new ResponseCache({
    enabled: config.cache.enabled,
    coalesce: config.cache.coalesce,
    maxEntryBytes: config.cache.maxEntryBytes,
    models: new Map(config.models.map((m) => [m.id, cachePolicy(config, m.id)])),
    store,
    clock,
    metrics,
    logger,
    revenueOf: (model, usage) => responseRevenueUsd(usage, pricing.get(model)),
    downstream: (request, signal) => admitted.run(request, signal),
  });
  const pipeline = new Pipeline({ cache, classes, metrics });
  const guard = new Guard({ config: config.guard, store, clock, metrics, load: () => admitted.pressure() });
  if (config.guard.enabled && config.guard.secret === undefined && config.store.url !== undefined) {
    logger.warn(
      "guard.secret is unset: each gateway signs passes with its own random secret, so a pass works only on the replica that issued it",
    );
  }
  if (config.admin.enabled && adminRequiresKey(config) && config.admin.key === undefined) {
    logger.info(
      { host: config.server.host },
      "admin.key is unset and server.host is not loopback: the admin API answers no network client",
    );
  }
  const app = createApp({
    gateway: served,
    pipeline,
    guard,
    metrics,
    logger,
    clock,
    bodyLimitBytes: config.server.bodyLimitBytes,
    bodyIdleTimeoutMs: config.server.bodyIdleTimeoutMs,
    maxJsonDepth: config.server.maxJsonDepth,
    logPrompts: config.log.prompts,
    exposeRoutingHeaders: config.server.exposeRoutingHeaders,
    ...(config.admin.enabled && {
      admin: {
        replicas: new Map(backends.map((b) => [b.replica.id, b])),
        key: config.admin.key,
        requireKey: adminRequiresKey(config),
      },
    }),
    ...(options.isDraining && { isDraining: options.isDraining }),
  });
  return {
    gateway: served,
    cache,
    scheduler: admitted,
    pipeline,
    guard,
    store,
    metrics,
    app,
    ready,
    close: async () => {
      await served.close();
      await store.close();
    },
  };
}

/** Loopback peers need the admin key too unless the server listens on loopback only (admin.requireKey). */
function adminRequiresKey(config: Config): boolean {
  return config.admin.requireKey ?? !isLoopbackHost(config.server.host);
}

/** A model's cache policy: the top-level `cache` values with the model's own on top. */
function cachePolicy(config: Config, modelId: string): ModelCachePolicy {
  const own = config.models.find((m) => m.id === modelId)?.cache ?? {};
  const policy: ModelCachePolicy = {
    mode: own.mode ?? config.cache.mode,
    ttlMs: (own.ttlSeconds ?? config.cache.ttlSeconds) * 1000,
    replay: own.replay ?? config.cache.replay,
  };
  if (own.semantic?.enabled) {
    policy.semantic = {
      threshold: own.semantic.threshold,
      maxEntries: own.semantic.maxEntries,
      maxTextChars: own.semantic.maxTextChars,
    };
  }
  return policy;
}
