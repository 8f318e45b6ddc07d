import { pino } from "pino";
import type { Backend } from "../../src/backends/backend.js";
import { type ModelCachePolicy, ResponseCache } from "../../src/cache/response-cache.js";
import {
  type ConfigInput,
  configSchema,
  modelSchedulingSchema,
  routingSchema,
} from "../../src/config/schema.js";
import { VirtualClock } from "../../src/core/clock.js";
import { createCl100kTokenizer } from "../../src/core/tokenizer.js";
import { createApp } from "../../src/http/app.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import { Gateway, type ServedModelInfo } from "../../src/pipeline/gateway.js";
import { Pipeline } from "../../src/pipeline/pipeline.js";
import { Scheduler } from "../../src/scheduling/scheduler.js";
import { SloClasses } from "../../src/scheduling/slo.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import type { Store } from "../../src/store/store.js";

/** A Hono app over the given backends on a virtual clock; requests complete as the clock is advanced. */
export function appHarness(options: {
  backends: (clock: VirtualClock) => Backend[];
  models?: ServedModelInfo[];
  bodyLimitBytes?: number;
  maxJsonDepth?: number;
  /** The cache stage: off unless given (policies by model id). */
  cache?: {
    models: Record<string, ModelCachePolicy>;
    coalesce?: boolean;
    store?: (clock: VirtualClock) => Store;
  };
  /** Scheduling (SLO classes, admission, queues): off unless given; per-model settings by id. */
  scheduling?: {
    config?: ConfigInput["scheduling"];
    models?: Record<string, Parameters<typeof modelSchedulingSchema.parse>[0]>;
  };
}) {
  const clock = new VirtualClock();
  const backends = options.backends(clock);
  const models = options.models ?? [
    { id: "test-model", ownedBy: "tollgate", contextLength: 4096, routing: routingSchema.parse({}) },
  ];
  const logger = pino({ level: "silent" });
  let gateway: Gateway | undefined;
  const metrics = createMetrics({
    processMetrics: false,
    replicaSamples: () => gateway?.replicaSamples() ?? [],
  });
  const served = new Gateway({
    models,
    backends,
    clock,
    tokenizer: createCl100kTokenizer(),
    metrics,
    logger,
  });
  gateway = served;
  const store = options.cache?.store?.(clock) ?? new MemoryStore({ maxBytes: 16 * 1024 * 1024, clock });
  const cache = new ResponseCache({
    enabled: options.cache !== undefined,
    coalesce: options.cache?.coalesce ?? true,
    maxEntryBytes: 1024 * 1024,
    models: new Map(Object.entries(options.cache?.models ?? {})),
    store,
    clock,
    metrics,
    logger,
    downstream: (request, signal) => scheduler.run(request, signal),
  });
  const schedulingConfig = configSchema.shape.scheduling.parse(options.scheduling?.config ?? {});
  const classes = new SloClasses(schedulingConfig.classes, schedulingConfig.defaultClass);
  const scheduler: Scheduler = new Scheduler({
    enabled: options.scheduling !== undefined,
    classes,
    tenantMaxShare: schedulingConfig.tenantMaxShare,
    models: models.map((m) => ({
      id: m.id,
      replicas: backends.filter((b) => b.replica.model === m.id).map((b) => b.replica),
      settings: modelSchedulingSchema.parse(options.scheduling?.models?.[m.id] ?? {}),
    })),
    clock,
    metrics,
    downstream: (request, signal) => served.generate(request, signal),
    retarget: (request, model) => served.retargetTo(request, model),
  });
  const pipeline = new Pipeline({ cache, classes, metrics });
  const app = createApp({
    gateway,
    pipeline,
    metrics,
    logger,
    clock,
    bodyLimitBytes: options.bodyLimitBytes ?? 1_048_576,
    ...(options.maxJsonDepth !== undefined && { maxJsonDepth: options.maxJsonDepth }),
  });

  /** Sends a request and advances virtual time until it completes. */
  async function request(path: string, init?: RequestInit): Promise<Response> {
    const pending = Promise.resolve(app.request(path, init));
    let settled = false;
    void pending.finally(() => {
      settled = true;
    });
    for (let i = 0; !settled; i++) {
      if (i > 100_000) throw new Error(`request to ${path} did not complete within 1000 s of virtual time`);
      await clock.advance(10);
    }
    return pending;
  }

  /**
   * Reads a streamed body while advancing the clock in small steps, as real time would pass while a client
   * reads (jumping to the next timer could fire a far-off timeout before the reader catches up).
   */
  async function text(response: Response): Promise<string> {
    let settled = false;
    const reading = response.text().finally(() => {
      settled = true;
    });
    for (let i = 0; !settled; i++) {
      if (i > 100_000) throw new Error("stream did not end within 1000 s of virtual time");
      await clock.advance(10);
    }
    return reading;
  }

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    request(path, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  return {
    clock,
    app,
    gateway: served,
    cache,
    scheduler,
    pipeline,
    store,
    metrics,
    backends,
    request,
    post,
    text,
  };
}
