import { createHash } from "node:crypto";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Composed, compose } from "../../src/compose.js";
import { parseConfig } from "../../src/config/load.js";
import { SystemClock } from "../../src/core/clock.js";
import { solve } from "../../src/guard/pow.js";
import { type RunningServer, startServer } from "../../src/http/server.js";

/**
 * A fleet: two gateway processes' worth of pipelines on loopback sharing the local Redis. Rate limits and
 * challenge state are enforced across both (the cache across both is in cache.test.ts).
 */
const redisUrl = process.env.REDIS_URL;
if ((redisUrl === undefined || redisUrl === "") && process.env.CI === "true") {
  throw new Error("REDIS_URL unset in CI: the fleet tests must run there (see .ci/run)");
}
if (redisUrl === undefined || redisUrl === "") console.warn("REDIS_URL unset: skipping fleet tests");

const KEY = "tg-fleet-key";
const keyPrefix = `tollgate-test:fleet:${process.pid}:${Date.now()}:`;

function fleetConfig() {
  return parseConfig({
    server: { port: 0 },
    store: { url: redisUrl, keyPrefix },
    guard: {
      secret: "fleet-test-secret-of-thirty-two-characters",
      tenants: { acme: { limits: { requestsPerMinute: 5 } } },
      apiKeys: [{ name: "acme", sha256: createHash("sha256").update(KEY).digest("hex"), tenant: "acme" }],
    },
    models: [{ id: "qwen", profile: "Qwen2.5-0.5B" }],
    deployments: [
      {
        name: "h100",
        model: "qwen",
        backend: {
          type: "simulated",
          hardware: "H100-SXM-80GB",
          output: { lengthMedian: 3, lengthSigma: 0 },
        },
      },
    ],
  });
}

interface Member {
  composed: Composed;
  server: RunningServer;
  base: string;
}

async function member(): Promise<Member> {
  const composed = compose({
    config: fleetConfig(),
    clock: new SystemClock(),
    logger: pino({ level: "silent" }),
    processMetrics: false,
  });
  await composed.ready();
  const server = await startServer(composed.app, { port: 0, host: "127.0.0.1" });
  return { composed, server, base: `http://127.0.0.1:${server.port}` };
}

const chat = (m: Member, headers: Record<string, string>) =>
  fetch(`${m.base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ model: "qwen", max_tokens: 2, messages: [{ role: "user", content: "hi" }] }),
  });

(redisUrl ? describe : describe.skip)("a fleet of two gateways on one Redis", () => {
  let a: Member;
  let b: Member;
  beforeAll(async () => {
    a = await member();
    b = await member();
  });
  afterAll(async () => {
    for (const m of [a, b]) {
      await m.server.close(1000);
      await m.composed.close();
    }
    const { Redis } = await import("ioredis");
    const admin = new Redis(redisUrl ?? "");
    const keys = await admin.keys(`${keyPrefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
  });

  it("enforces a tenant's rate limit across both gateways", async () => {
    const auth = { authorization: `Bearer ${KEY}` };
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await chat(i % 2 === 0 ? a : b, auth);
      statuses.push(res.status);
      await res.text();
    }
    // 5 per minute for the tenant, whichever gateway answers.
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it("verifies on one gateway a challenge issued by the other, and honours the pass on both", async () => {
    const flood = { "x-forwarded-for": "unused" };
    let challenge: { id: string; seed: string; difficulty: number } | undefined;
    for (let i = 0; i < 200 && challenge === undefined; i++) {
      const res = await chat(a, flood);
      if (res.status === 403)
        challenge = ((await res.json()) as { error: { challenge: typeof challenge } }).error.challenge;
      else await res.text();
    }
    expect(challenge).toBeDefined();
    const verified = await fetch(`${b.base}/v1/challenge/verify`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: challenge!.id, nonce: solve(challenge!.seed, challenge!.difficulty) }),
    });
    expect(verified.status).toBe(200);
    const { pass } = (await verified.json()) as { pass: string };
    for (const m of [a, b]) {
      const res = await chat(m, { "x-tollgate-pass": pass });
      expect(res.status).toBe(200);
      await res.text();
    }
  });
});
