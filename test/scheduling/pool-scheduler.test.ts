import { describe, expect, it } from "vitest";
import { flushMicrotasks, VirtualClock } from "../../src/core/clock.js";
import { GatewayError } from "../../src/core/errors.js";
import { AdmissionQueue } from "../../src/scheduling/admission-queue.js";
import { PoolCapacity } from "../../src/scheduling/pool-capacity.js";
import { PoolScheduler } from "../../src/scheduling/pool-scheduler.js";
import type { SloClass } from "../../src/scheduling/slo.js";
import { PredictedMiss, type ShedReason, type Ticket } from "../../src/scheduling/types.js";

const HIGH: SloClass = {
  name: "interactive",
  priority: 30,
  ttftMs: 500,
  tpotMs: 30,
  e2eMs: 30_000,
  percentile: 99,
  maxQueueMs: 400,
};
const MID: SloClass = {
  name: "standard",
  priority: 20,
  ttftMs: 2_000,
  tpotMs: 100,
  e2eMs: 60_000,
  percentile: 99,
  maxQueueMs: 2_000,
};
const LOW: SloClass = {
  name: "batch",
  priority: 10,
  ttftMs: 60_000,
  tpotMs: 1_000,
  e2eMs: 600_000,
  percentile: 90,
  maxQueueMs: 60_000,
};

function scheduler(
  options: {
    maxConcurrent?: number;
    /** Replaces maxConcurrent: a capacity built from replicas. */
    capacity?: PoolCapacity;
    maxQueue?: number;
    tenantMaxShare?: number;
    batching?: Partial<{
      maxWaitMs: number;
      maxBatchSize: number;
      maxBatchTokens: number;
      bypass: Set<string>;
    }>;
  } = {},
) {
  const clock = new VirtualClock();
  const shed: Array<[string, ShedReason]> = [];
  const batches: number[] = [];
  const batchWaits: number[] = [];
  const waits: Array<[string, number]> = [];
  const pool = new PoolScheduler({
    model: "m",
    capacity:
      options.capacity ??
      new PoolCapacity({
        replicas: [{}],
        maxConcurrentPerReplica: options.maxConcurrent ?? 1,
        halfLifeMs: 5_000,
      }),
    maxQueue: options.maxQueue ?? 100,
    tenantMaxShare: options.tenantMaxShare ?? 1,
    batching: {
      maxWaitMs: 0,
      maxBatchSize: 8,
      maxBatchTokens: 1_000_000,
      bypass: new Set(["interactive"]),
      ...options.batching,
    },
    clock,
    observer: {
      dispatched: (slo, waitedMs) => waits.push([slo.name, waitedMs]),
      shed: (slo, reason) => shed.push([slo.name, reason]),
      batch: (size) => batches.push(size),
      batchWait: (waitedMs) => batchWaits.push(waitedMs),
    },
  });
  const order: string[] = [];
  const acquire = (
    slo: SloClass,
    label: string,
    extra: { tenant?: string; signal?: AbortSignal; promptTokens?: number } = {},
  ) => {
    const promise = pool.acquire({
      slo,
      arrivalMs: clock.now(),
      promptTokens: extra.promptTokens ?? 10,
      tenant: extra.tenant ?? "t",
      signal: extra.signal ?? new AbortController().signal,
    });
    const settled = promise.then(
      (ticket) => {
        order.push(label);
        return ticket;
      },
      (error: unknown) => error as Error,
    );
    return settled;
  };
  return { clock, pool, shed, batches, batchWaits, waits, order, acquire };
}

/** One replica that runs 100 sequences, holds 100k KV tokens, computes 1,000 tokens a step at 10k tokens/s. */
function replicaCapacity(extra: Partial<ConstructorParameters<typeof PoolCapacity>[0]> = {}) {
  return new PoolCapacity({
    replicas: [
      {
        maxRunningSequences: 100,
        kvCacheTokens: 100_000,
        maxBatchedTokens: 1_000,
        prefillTokensPerSecond: 10_000,
      },
    ],
    halfLifeMs: 5_000,
    ...extra,
  });
}

/** Serves a ticket for `ms` of virtual time (first token after a tenth of it), then releases it. */
async function serve(clock: VirtualClock, ticket: Ticket | Error, ms: number): Promise<void> {
  if (ticket instanceof Error) throw ticket;
  await clock.advance(ms / 10);
  const first = clock.now();
  await clock.advance(ms - ms / 10);
  ticket.release(first);
}

describe("AdmissionQueue", () => {
  it("orders by priority, then earliest deadline, then arrival; removal is lazy and counted", () => {
    const q = new AdmissionQueue<string>();
    q.push("low", 10, 100, 0);
    const late = q.push("mid-late", 20, 900, 0);
    q.push("mid-early", 20, 300, 0);
    q.push("mid-early-2", 20, 300, 0);
    q.push("high", 30, 5_000, 0);
    expect(q.aheadOf(20)).toBe(4);
    expect(q.aheadOf(30)).toBe(1);
    expect(q.lowest()?.value).toBe("low");
    q.remove(late);
    expect(q.size).toBe(4);
    expect([q.shift(), q.shift(), q.shift(), q.shift()].map((i) => i?.value)).toEqual([
      "high",
      "mid-early",
      "mid-early-2",
      "low",
    ]);
    expect(q.shift()).toBeUndefined();
  });
});

describe("PoolScheduler: prefill backlog and KV capacity", () => {
  it("keeps two steps of prefill inside the replica; the rest waits in the queue, in priority order", async () => {
    const s = scheduler({ capacity: replicaCapacity() });
    // 1,500 + 400 tokens fit the 2,000-token backlog; 500 more would not, so c and d wait in the gateway.
    const a = (await s.acquire(LOW, "a", { promptTokens: 1_500 })) as Ticket;
    const b = (await s.acquire(LOW, "b", { promptTokens: 400 })) as Ticket;
    const c = s.acquire(LOW, "c", { promptTokens: 500 });
    const d = s.acquire(MID, "d", { promptTokens: 500 });
    await flushMicrotasks();
    expect(s.pool.prefillBacklogTokens).toBe(1_900);
    expect(s.pool.queued).toBe(2);
    expect(s.pool.inFlight).toBe(2);
    // a's first token frees its 1,500 tokens of room: d (higher priority) goes before c, and c fits too.
    await s.clock.advance(150);
    a.firstToken(s.clock.now());
    await flushMicrotasks();
    expect(s.order).toEqual(["a", "b", "d", "c"]);
    expect(s.pool.prefillBacklogTokens).toBe(1_400);
    await d;
    b.release(s.clock.now(), 10);
    ((await c) as Ticket).release(undefined);
    expect(s.pool.prefillBacklogTokens).toBe(500);
  });

  it("lets a prompt longer than the whole backlog bound go alone", async () => {
    const s = scheduler({ capacity: replicaCapacity() });
    const huge = (await s.acquire(LOW, "huge", { promptTokens: 50_000 })) as Ticket;
    const next = s.acquire(LOW, "next", { promptTokens: 10 });
    await flushMicrotasks();
    expect(s.pool.queued).toBe(1);
    huge.firstToken(s.clock.now());
    await next;
    expect(s.order).toEqual(["huge", "next"]);
  });

  it("predicts a long prompt's first token from the prefill work ahead of it and sheds what cannot make it", async () => {
    const s = scheduler({ capacity: replicaCapacity() });
    await s.acquire(LOW, "running", { promptTokens: 2_000 });
    for (let i = 0; i < 4; i++) void s.acquire(LOW, `batch-${i}`, { promptTokens: 1_000 });
    await flushMicrotasks();
    expect(s.pool.queued).toBe(4);
    // Standard, 5,000 tokens: only the 2,000 in the replica are ahead of it (the batch work queues behind), so
    // (2,000 + 5,000) / 10,000 tokens/s = 700 ms of prefill, plus one 100 ms step (1,000 tokens at 10,000/s)
    // for its first token to come out; it waits in the queue for what exceeds the 2,000-token backlog.
    expect(s.pool.predictTtftMs(MID.priority, 5_000)).toBe(800);
    expect(s.pool.predictWaitMs(MID.priority, 5_000)).toBe(500);
    // Another batch request waits behind all of it: (2,000 + 4,000 + 1,000) / 10,000 + 100 ms = 800 ms.
    expect(s.pool.predictTtftMs(LOW.priority, 1_000)).toBe(800);
    // Interactive (500 ms target) with a 5,000-token prompt cannot make it: refused now, with a Retry-After.
    const refused = await s.acquire(HIGH, "long-interactive", { promptTokens: 5_000 });
    expect(refused).toBeInstanceOf(PredictedMiss);
    expect((refused as GatewayError).retryAfterSeconds).toBe(1);
    // A short interactive prompt still fits: (2,000 + 100) / 10,000 + 100 ms = 310 ms.
    expect(s.pool.predictTtftMs(HIGH.priority, 100)).toBe(310);
    void s.acquire(HIGH, "short-interactive", { promptTokens: 100 });
    await flushMicrotasks();
    expect(s.pool.queued).toBe(5);
  });

  it("runs no more sequences than the KV cache holds at the pool's typical length", async () => {
    const s = scheduler({ capacity: replicaCapacity({ prefillBacklogTokensPerReplica: 1_000_000 }) });
    expect(s.pool.maxConcurrent).toBe(100);
    // 20,000-token prompts + 256 assumed completion tokens: 100,000 / 20,256 = 4 sequences.
    const tickets: Ticket[] = [];
    for (let i = 0; i < 4; i++)
      tickets.push((await s.acquire(LOW, `long-${i}`, { promptTokens: 20_000 })) as Ticket);
    expect(s.pool.maxConcurrent).toBe(4);
    const fifth = s.acquire(LOW, "fifth", { promptTokens: 20_000 });
    await flushMicrotasks();
    expect(s.pool.queued).toBe(1);
    tickets[0]!.release(s.clock.now(), 100);
    await flushMicrotasks();
    expect(s.order.at(-1)).toBe("fifth");
    void fifth;
  });

  it("stops counting a prompt stuck without a first token, so a hung replica cannot hold the pool", async () => {
    const s = scheduler({ capacity: replicaCapacity() });
    await s.acquire(LOW, "stuck", { promptTokens: 2_000 });
    const next = s.acquire(LOW, "next", { promptTokens: 500 });
    await flushMicrotasks();
    expect(s.pool.queued).toBe(1);
    // Stale after 4 x 2,000 tokens / 10,000 tokens/s = 800 ms, at least 1 s: the wake timer dispatches then.
    await s.clock.advance(999);
    expect(s.pool.queued).toBe(1);
    await s.clock.advance(1);
    expect(await next).not.toBeInstanceOf(Error);
    expect(s.pool.prefillBacklogTokens).toBe(500);
  });
});

describe("PoolScheduler", () => {
  it("dispatches at once while a slot is free, then serves the queue by priority and deadline", async () => {
    const s = scheduler();
    const first = await s.acquire(MID, "first");
    const pending = [s.acquire(LOW, "low"), s.acquire(MID, "mid"), s.acquire(HIGH, "high")];
    await flushMicrotasks();
    expect(s.pool.queued).toBe(3);
    await serve(s.clock, first, 100);
    const [low, mid, high] = pending;
    await serve(s.clock, await high!, 100);
    await serve(s.clock, await mid!, 100);
    await serve(s.clock, await low!, 100);
    expect(s.order).toEqual(["first", "high", "mid", "low"]);
  });

  it("refuses a request predicted to miss its TTFT target, with a Retry-After covering the backlog", async () => {
    const s = scheduler();
    // Teach it the service time: 1 s per request, 100 ms to first token.
    await serve(s.clock, await s.acquire(MID, "warm"), 1_000);
    const busy = await s.acquire(MID, "busy");
    expect(s.pool.predictWaitMs(HIGH.priority)).toBe(1_000);
    // Interactive (500 ms target): a 1 s wait cannot make it.
    const refused = await s.acquire(HIGH, "too-late");
    expect(refused).toBeInstanceOf(PredictedMiss);
    expect((refused as GatewayError).status).toBe(503);
    expect((refused as GatewayError).retryAfterSeconds).toBe(1);
    // Standard (2 s target) is queued.
    const queued = s.acquire(MID, "queued");
    await flushMicrotasks();
    expect(s.pool.queued).toBe(1);
    await serve(s.clock, busy, 1_000);
    await serve(s.clock, await queued, 1_000);
    expect(s.order).toEqual(["warm", "busy", "queued"]);
  });

  it("counts only same-or-higher priority requests ahead, so lower classes are shed first", async () => {
    const s = scheduler();
    await serve(s.clock, await s.acquire(MID, "warm"), 1_000);
    await s.acquire(MID, "busy");
    for (let i = 0; i < 5; i++) void s.acquire(LOW, `batch-${i}`);
    await flushMicrotasks();
    // Five batch requests queued do not count against a standard request...
    expect(s.pool.predictWaitMs(MID.priority)).toBe(1_000);
    // ...but do against another batch request.
    expect(s.pool.predictWaitMs(LOW.priority)).toBe(6_000);
  });

  it("drops a queued request whose max queue time passes, before it reaches a slot", async () => {
    const s = scheduler();
    const busy = await s.acquire(MID, "busy");
    const waiting = s.acquire(HIGH, "interactive");
    await s.clock.advance(399);
    expect(s.pool.queued).toBe(1);
    await s.clock.advance(1);
    const result = await waiting;
    expect(result).toBeInstanceOf(GatewayError);
    expect((result as GatewayError).code).toBe("overloaded");
    expect(s.pool.queued).toBe(0);
    expect(s.shed).toEqual([["interactive", "deadline"]]);
    await serve(s.clock, busy, 10);
    expect(s.order).toEqual(["busy"]);
  });

  it("drops a queued request as soon as a first token in time is out of reach, not only at its max queue time", async () => {
    const patient: SloClass = { ...HIGH, maxQueueMs: 10_000 };
    const s = scheduler();
    // Warm: 1 s of service, 100 ms to first token.
    await serve(s.clock, await s.acquire(MID, "warm"), 1_000);
    const busy = await s.acquire(MID, "busy");
    const start = s.clock.now();
    const waiting = s.acquire(LOW, "low");
    void waiting;
    const late = s.acquire({ ...patient, ttftMs: 2_000 }, "late");
    // The drop timer is at TTFT target - expected first token = 1.9 s, well before the 10 s max queue time.
    await s.clock.advance(1_899);
    expect(s.pool.queued).toBe(2);
    await s.clock.advance(1);
    expect(await late).toBeInstanceOf(GatewayError);
    expect(s.clock.now() - start).toBe(1_900);
    expect(s.shed).toEqual([["interactive", "deadline"]]);
    await serve(s.clock, busy, 10);
  });

  it("does not dispatch a queued request whose first token could no longer come in time", async () => {
    const patient: SloClass = { ...HIGH, maxQueueMs: 10_000 };
    const s = scheduler();
    // Cold pool: no time-to-first-token estimate yet, so the drop timer is at the full 500 ms target.
    const busy = await s.acquire(MID, "busy");
    const late = s.acquire(patient, "late");
    await s.clock.advance(100);
    const first = s.clock.now();
    await s.clock.advance(350);
    // The slot frees at 450 ms having taken 100 ms to its first token: 450 + 100 > 500.
    (busy as Ticket).release(first);
    expect(await late).toBeInstanceOf(GatewayError);
    expect(s.order).toEqual(["busy"]);
    expect(s.shed).toEqual([["interactive", "deadline"]]);
  });

  it("bounds the service time by the oldest request in service before any has finished", async () => {
    const s = scheduler();
    await s.acquire(MID, "cold");
    expect(s.pool.predictWaitMs(HIGH.priority)).toBe(0);
    await s.clock.advance(3_000);
    expect(s.pool.predictWaitMs(HIGH.priority)).toBe(3_000);
    expect(await s.acquire(HIGH, "refused")).toBeInstanceOf(PredictedMiss);
  });

  it("removes a request from the queue the moment its client disconnects", async () => {
    const s = scheduler();
    const busy = await s.acquire(MID, "busy");
    const client = new AbortController();
    const waiting = s.acquire(MID, "gone", { signal: client.signal });
    const next = s.acquire(MID, "next");
    await flushMicrotasks();
    expect(s.pool.queued).toBe(2);
    client.abort(new Error("client went away"));
    expect(s.pool.queued).toBe(1);
    expect(((await waiting) as Error).message).toBe("client went away");
    await serve(s.clock, busy, 10);
    await next;
    expect(s.order).toEqual(["busy", "next"]);
  });

  it("when the queue is full, a higher-priority arrival displaces the lowest-priority, latest-deadline request", async () => {
    const s = scheduler({ maxQueue: 2 });
    await s.acquire(MID, "busy");
    const early = s.acquire(LOW, "batch-early");
    await s.clock.advance(10);
    const late = s.acquire(LOW, "batch-late");
    await flushMicrotasks();
    const high = s.acquire(HIGH, "interactive");
    await flushMicrotasks();
    const displaced = await late;
    expect(displaced).toBeInstanceOf(GatewayError);
    expect(s.shed).toEqual([["batch", "preempted"]]);
    // A batch arrival into the full queue is refused itself.
    const refused = await s.acquire(LOW, "batch-3");
    expect((refused as GatewayError).status).toBe(503);
    expect(s.shed.at(-1)).toEqual(["batch", "queue_full"]);
    void early;
    void high;
  });

  it("answers 429 to a tenant over its share of a saturated pool, 503s stay for the gateway's own overload", async () => {
    const s = scheduler({ maxConcurrent: 2, maxQueue: 2, tenantMaxShare: 0.5 });
    await s.acquire(MID, "a1", { tenant: "a" });
    await s.acquire(MID, "b1", { tenant: "b" });
    void s.acquire(MID, "a2", { tenant: "a" });
    await flushMicrotasks();
    const refused = await s.acquire(MID, "a3", { tenant: "a" });
    expect((refused as GatewayError).status).toBe(429);
    expect((refused as GatewayError).code).toBe("tenant_over_share");
    expect((refused as GatewayError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // The other tenant is still queued.
    void s.acquire(MID, "b2", { tenant: "b" });
    await flushMicrotasks();
    expect(s.pool.queued).toBe(2);
  });

  describe("micro-batching", () => {
    it("holds requests until maxWaitMs, then releases them together", async () => {
      const s = scheduler({ maxConcurrent: 8, batching: { maxWaitMs: 20, maxBatchSize: 8 } });
      const a = s.acquire(MID, "a");
      await s.clock.advance(5);
      const b = s.acquire(MID, "b");
      await s.clock.advance(14);
      expect(s.order).toEqual([]);
      await s.clock.advance(1);
      await Promise.all([a, b]);
      expect(s.order).toEqual(["a", "b"]);
      expect(s.batches).toEqual([2]);
      expect(s.waits.map(([, w]) => w)).toEqual([20, 15]);
      expect(s.batchWaits).toEqual([20, 15]);
    });

    it("releases at once when the batch is full by size or by prompt tokens", async () => {
      const s = scheduler({
        maxConcurrent: 8,
        batching: { maxWaitMs: 1_000, maxBatchSize: 3, maxBatchTokens: 500 },
      });
      const bySize = [s.acquire(MID, "1"), s.acquire(MID, "2"), s.acquire(MID, "3")];
      await Promise.all(bySize);
      expect(s.batches).toEqual([3]);
      const byTokens = [
        s.acquire(MID, "big-1", { promptTokens: 300 }),
        s.acquire(MID, "big-2", { promptTokens: 300 }),
      ];
      await Promise.all(byTokens);
      expect(s.batches).toEqual([3, 2]);
      expect(s.clock.now()).toBe(0);
    });

    it("lets bypass classes through without waiting", async () => {
      const s = scheduler({ maxConcurrent: 8, batching: { maxWaitMs: 1_000 } });
      await s.acquire(HIGH, "interactive");
      expect(s.order).toEqual(["interactive"]);
      expect(s.clock.now()).toBe(0);
    });
  });
});
