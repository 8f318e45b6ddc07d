import { describe, expect, it } from "vitest";
import { configSchema, modelSchedulingSchema } from "../../src/config/schema.js";
import { VirtualClock } from "../../src/core/clock.js";
import type { GatewayEvent, GenerationRequest } from "../../src/core/types.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import { Scheduler } from "../../src/scheduling/scheduler.js";
import { SloClasses } from "../../src/scheduling/slo.js";

/** The scheduler's slot is per request: it must come back when the generation ends, however it is read. */

const done = {
  type: "done",
  finishReason: "stop",
  usage: { promptTokens: 1, completionTokens: 1, cachedPromptTokens: 0 },
  timings: { arrivalMs: 0, scheduledMs: 0, firstTokenMs: 0, endMs: 0, preemptions: 0 },
  gpuSeconds: 0,
  replicaId: "r/0",
  servedBy: { model: "m", deployment: "d", replicaId: "r/0" },
  deployment: "d",
  costUsd: 0,
} as GatewayEvent;

function setup() {
  const clock = new VirtualClock();
  const scheduling = configSchema.shape.scheduling.parse({});
  const scheduler = new Scheduler({
    enabled: true,
    classes: new SloClasses(scheduling.classes, scheduling.defaultClass),
    tenantMaxShare: scheduling.tenantMaxShare,
    models: [{ id: "m", replicas: [{ maxRunningSequences: 1 }], settings: modelSchedulingSchema.parse({}) }],
    clock,
    metrics: createMetrics({ processMetrics: false }),
    // A downstream that is still open after its done event, as a generator suspended at its last yield is.
    downstream: async function* () {
      yield { type: "token", text: "a", tokens: 1, atMs: 0 } as GatewayEvent;
      yield done;
      await new Promise(() => {});
    },
    retarget: () => undefined,
  });
  const request = { id: "r", model: "m", promptTokens: [1], arrivalMs: 0 } as unknown as GenerationRequest;
  return { scheduler, request, pool: scheduler.pool("m")! };
}

describe("Scheduler: the slot of a request", () => {
  it("comes back at the done event, even when the consumer reads no further", async () => {
    const { scheduler, request, pool } = setup();
    const events = scheduler.run(request, new AbortController().signal)[Symbol.asyncIterator]();
    expect(await events.next()).toMatchObject({ value: { type: "token" } });
    expect(pool.inFlight).toBe(1);
    expect(await events.next()).toMatchObject({ value: { type: "done" } });
    expect(pool.inFlight).toBe(0);
    // The next request gets the (single) slot without waiting for the first one's stream to be returned.
    const second = scheduler
      .run({ ...request, id: "r2" }, new AbortController().signal)
      [Symbol.asyncIterator]();
    expect(await second.next()).toMatchObject({ value: { type: "token" } });
    expect(pool.inFlight).toBe(1);
  });
});
