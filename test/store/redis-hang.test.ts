import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type RedisServerProcess,
  redisServerOnPath,
  startRedisServer,
} from "../../bench/harness/redis-server.js";
import { type Composed, compose } from "../../src/compose.js";
import { parseConfig } from "../../src/config/load.js";
import { SystemClock } from "../../src/core/clock.js";
import { createStore } from "../../src/store/index.js";
import { parsePrometheusText, sampleValue } from "../helpers/prometheus.js";

/**
 * A hung Redis, for real: a private redis-server on a free port, SIGSTOPped (its sockets stay open, nothing
 * answers) while the composed gateway serves requests through app.request(), then SIGCONTed. Needs Redis like
 * the other Redis tests (REDIS_URL set) and redis-server on PATH; it never touches the shared Redis.
 */
const missing =
  process.env.REDIS_URL === undefined || process.env.REDIS_URL === ""
    ? "REDIS_URL unset"
    : redisServerOnPath()
      ? undefined
      : "redis-server not on PATH";
if (missing !== undefined) {
  // CI exports REDIS_URL and has redis-server; a CI run without them would pass while testing nothing.
  if (process.env.CI === "true") throw new Error(`${missing} in CI: the hung-Redis tests must run there`);
  console.warn(`${missing}: skipping the hung-Redis tests`);
}

const COMMAND_TIMEOUT_MS = 200;
const PROBE_INTERVAL_MS = 50;
const KEY = "tg-hang-test-key";
const KEY_PREFIX = "hang-test:";

/** Polls `check` every 25 ms until it holds; fails after `timeoutMs` (no fixed sleeps). */
async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

(missing === undefined ? describe : describe.skip)("a hung Redis (SIGSTOP)", () => {
  let redis: RedisServerProcess | undefined;
  let composed: Composed | undefined;
  let admin: Redis | undefined;

  beforeAll(async () => {
    redis = await startRedisServer();
    admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    admin.on("error", () => {});
    composed = compose({
      config: parseConfig({
        server: { port: 0 },
        store: {
          url: redis.url,
          keyPrefix: KEY_PREFIX,
          connectTimeoutMs: 1_000,
          commandTimeoutMs: COMMAND_TIMEOUT_MS,
          probeIntervalMs: PROBE_INTERVAL_MS,
        },
        // Every request goes through the guard's buckets and a concurrency slot, and the cache (a miss: a read,
        // then a write), so each touches the store several times.
        guard: {
          tenants: {
            tests: {
              limits: { requestsPerMinute: 100_000, tokensPerMinute: 100_000_000, concurrentRequests: 4 },
            },
          },
          apiKeys: [
            { name: "tests", sha256: createHash("sha256").update(KEY).digest("hex"), tenant: "tests" },
          ],
        },
        models: [{ id: "m", profile: "Qwen2.5-0.5B" }],
        deployments: [
          {
            name: "zero",
            model: "m",
            backend: { type: "simulated", hardware: "H100-SXM-80GB", latency: "zero" },
          },
        ],
      }),
      clock: new SystemClock(),
      logger: pino({ level: "silent" }),
      processMetrics: false,
    });
    await composed.ready();
  });

  afterAll(async () => {
    // Whatever failed: never leave a stopped redis-server behind.
    redis?.resume();
    admin?.disconnect();
    await composed?.close();
    await redis?.stop();
  });

  let sent = 0;
  /** One keyed chat completion through the composed app (a fresh prompt: a cache miss); its latency in ms. */
  async function request(): Promise<number> {
    const started = performance.now();
    const response = await composed!.app.request("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
      body: JSON.stringify({
        model: "m",
        messages: [{ role: "user", content: `prompt ${sent++}` }],
        max_tokens: 4,
        temperature: 0,
      }),
    });
    await response.text();
    const ms = performance.now() - started;
    expect(response.status).toBe(200);
    return ms;
  }

  async function storeUp(): Promise<number | undefined> {
    const samples = parsePrometheusText(await composed!.metrics.registry.metrics());
    return sampleValue(samples, "tollgate_store_up", { store: "redis" });
  }

  it("adds under 20 ms per request while Redis hangs; tollgate_store_up goes 0, and back to 1 after SIGCONT", async () => {
    for (let i = 0; i < 5; i++) await request(); // warm-up (JIT)
    const healthy: number[] = [];
    for (let i = 0; i < 15; i++) healthy.push(await request());
    expect(await storeUp()).toBe(1);

    redis!.pause();
    // The request that finds the hang waits out one command timeout. With the defect every store call of every
    // request waited out its own: over 1 s per request here.
    expect(await request()).toBeLessThan(COMMAND_TIMEOUT_MS + 800);
    expect(await storeUp()).toBe(0);
    const hung: number[] = [];
    for (let i = 0; i < 20; i++) hung.push(await request());
    expect(median(hung) - median(healthy)).toBeLessThan(20);
    // No request waits on Redis any more.
    expect(Math.max(...hung)).toBeLessThan(COMMAND_TIMEOUT_MS);
    expect(await storeUp()).toBe(0);

    redis!.resume();
    await eventually(async () => (await storeUp()) === 1, 5_000, "tollgate_store_up back to 1");
    // Requests use Redis again: a fresh prompt's cache entry is written there.
    const keys = await admin!.dbsize();
    await request();
    await eventually(async () => (await admin!.dbsize()) > keys, 2_000, "a new key in Redis");
    expect(await storeUp()).toBe(1);
  });

  it("keeps Redis's slot count right across the hang: released where taken, a timed-out take undone", async () => {
    const prefix = "hang-slot-test:";
    const store = await createStore({
      url: redis!.url,
      keyPrefix: prefix,
      maxBytes: 1 << 20,
      clock: new SystemClock(),
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      probeIntervalMs: PROBE_INTERVAL_MS,
    });
    const count = () => admin!.get(`${prefix}slots`);
    try {
      const before = await store.hold("slots", { ttlMs: 60_000 });
      expect(await count()).toBe("1");
      redis!.pause();
      // This take meets the hang: it times out (the store is marked down) and is counted locally instead. Its
      // increment is still queued on the connection, and so is the decrement RedisStore sent behind it.
      const during = await store.hold("slots", { ttlMs: 60_000 });
      expect(during.count).toBe(1);
      expect(store.stats().connected).toBe(false);
      // The slot taken on Redis is released on Redis: sent, not waited for.
      const started = performance.now();
      await before.release();
      expect(performance.now() - started).toBeLessThan(COMMAND_TIMEOUT_MS);
      redis!.resume();
      // Redis works through the backlog: +1 (the timed-out take), -1 (its undo), -1 (the release).
      await eventually(async () => (await count()) === "0", 5_000, "Redis's count back to 0");
      await eventually(async () => store.stats().connected, 5_000, "store up again");
      // The slot counted locally is released locally, though Redis is back: Redis's count stays 0.
      await during.release();
      expect(await count()).toBe("0");
    } finally {
      redis!.resume();
      await store.close();
    }
  });
});
