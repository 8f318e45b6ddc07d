import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConfigInput } from "../../src/config/schema.js";
import { SeededRandom } from "../../src/core/random.js";
import {
  type LiveServer,
  liveServer,
  openSocket,
  type RawClient,
  requestHead,
} from "../helpers/live-server.js";
import { parsePrometheusText, sampleValue } from "../helpers/prometheus.js";

/**
 * 1,000 SSE chat completions against the real server, each cut by its client at a seeded random point: in the
 * middle of the request body, right after the request, or after a few chunks of the stream; half with a FIN,
 * half with a reset. Afterwards every in-flight count is back to zero, no request is recorded as a 5xx, and
 * each one the server saw the client leave is a 499 counted in tollgate_client_cancellations_total.
 */
const STREAMS = 1_000;
const CONCURRENCY = 50;

const config: ConfigInput = {
  // Anonymous clients with a concurrency cap, so the guard's slots are checked too; no challenge or rate cap
  // in the way of a thousand requests from one address.
  guard: { challenge: { enabled: false }, anonymous: { limits: { concurrentRequests: 10_000 } } },
  models: [{ id: "m", profile: "Qwen2.5-0.5B" }],
  deployments: [
    {
      name: "h",
      model: "m",
      replicas: 2,
      backend: { type: "simulated", hardware: "H100-SXM-80GB", output: { lengthMedian: 40, lengthSigma: 0 } },
    },
  ],
};

type Cut = "mid_body" | "after_request" | "after_chunks";

const logLines: { level: number; msg: string; status?: number; outcome?: string }[] = [];
let live: LiveServer;

beforeAll(async () => {
  const logger = pino({ level: "info" }, { write: (line: string) => void logLines.push(JSON.parse(line)) });
  live = await liveServer(config, logger);
});
afterAll(async () => {
  await live.close();
});

/** One stream, cut by its client as `cut` says; resolves once the socket is closed. */
async function cutStream(random: SeededRandom): Promise<void> {
  const cut: Cut = (["mid_body", "after_request", "after_chunks"] as const)[random.int(0, 2)]!;
  const reset = random.next() < 0.5;
  const chunks = random.int(1, 8);
  const body = JSON.stringify({
    model: "m",
    stream: true,
    max_tokens: 40,
    messages: [{ role: "user", content: `cancel me ${random.int(0, 1e9)}` }],
  });
  const client = await openSocket(live.port);
  const leave = (c: RawClient) => (reset ? c.socket.resetAndDestroy() : c.socket.destroy());
  const head = requestHead("POST", "/v1/chat/completions", Buffer.byteLength(body));
  if (cut === "mid_body") {
    client.write(head + body.slice(0, body.length >> 1));
    // Long enough for the server to be reading the body when the client goes.
    setTimeout(() => leave(client), random.int(1, 5));
  } else if (cut === "after_request") {
    client.write(head + body);
    leave(client);
  } else {
    client.write(head + body);
    client.socket.on("data", () => {
      if ((client.received.match(/\ndata: /g)?.length ?? 0) >= chunks) leave(client);
    });
  }
  await client.closed;
}

/** Runs `total` tasks with at most `limit` at once. */
async function bounded(total: number, limit: number, task: () => Promise<void>): Promise<void> {
  let started = 0;
  const lanes = Array.from({ length: limit }, async () => {
    while (started < total) {
      started++;
      await task();
    }
  });
  await Promise.all(lanes);
}

/** Every in-flight count the gateway keeps, as name -> value. */
async function inFlight(): Promise<Record<string, number>> {
  const { composed } = live;
  const samples = parsePrometheusText(await (await fetch(`${live.base}/metrics`)).text());
  const pool = composed.scheduler.pool("m")!;
  const replicas = composed.gateway.replicaSamples();
  const sum = (f: (r: (typeof replicas)[number]) => number) => replicas.reduce((n, r) => n + f(r), 0);
  return {
    schedulerInFlight: pool.inFlight,
    schedulerQueued: pool.queued,
    replicaOutstanding: sum((r) => r.outstanding),
    replicaRunning: sum((r) => r.running),
    replicaWaiting: sum((r) => r.waiting),
    generationsInFlight: sampleValue(samples, "tollgate_generations_in_flight", {}),
    cacheSharedInFlight: sampleValue(samples, "tollgate_cache_shared_generations_in_flight", {}),
    queueDepth: sampleValue(samples, "tollgate_queue_depth", {}),
    guardConcurrency: await composed.store.increment("rl:conc:ip:127.0.0.1", 0, { ttlMs: 60_000 }),
  };
}

describe("clients that leave mid-request", () => {
  it("free everything they held and are recorded as 499, never as 5xx", async () => {
    const random = new SeededRandom(20_261_204);
    await bounded(STREAMS, CONCURRENCY, () => cutStream(random));

    // The server notices the last departures asynchronously: wait (bounded) for the counts to settle.
    let held = await inFlight();
    for (let i = 0; i < 100 && Object.values(held).some((v) => v !== 0); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      held = await inFlight();
    }
    const samples = parsePrometheusText(await (await fetch(`${live.base}/metrics`)).text());
    const requests = samples.filter(
      (s) => s.name === "tollgate_requests_total" && s.labels["endpoint"] === "chat_completions",
    );
    const byStatus = (test: (status: number) => boolean) =>
      requests.filter((s) => test(Number(s.labels["status"]))).reduce((n, s) => n + s.value, 0);
    const cancelled = sampleValue(samples, "tollgate_client_cancellations_total", {});
    const stage = (name: string) =>
      sampleValue(samples, "tollgate_client_cancellations_total", {
        endpoint: "chat_completions",
        stage: name,
      });
    const seen = byStatus((s) => s >= 200);
    console.info(
      `cut streams: ${seen} seen by the server of ${STREAMS}: ${byStatus((s) => s === 499)} x 499 ` +
        `(reading_body ${stage("reading_body")}, before_response ${stage("before_response")}, ` +
        `streaming ${stage("streaming")}), ${byStatus((s) => s === 200)} x 200 (sent in full before the cut ` +
        `was seen), ${byStatus((s) => s >= 500)} x 5xx; in flight afterwards: ${JSON.stringify(held)}`,
    );
    expect(held).toEqual({
      schedulerInFlight: 0,
      schedulerQueued: 0,
      replicaOutstanding: 0,
      replicaRunning: 0,
      replicaWaiting: 0,
      generationsInFlight: 0,
      cacheSharedInFlight: 0,
      queueDepth: 0,
      guardConcurrency: 0,
    });

    expect(byStatus((s) => s >= 500)).toBe(0);
    expect(byStatus((s) => s === 499)).toBe(cancelled);
    expect(byStatus((s) => s !== 499 && s !== 200)).toBe(0);
    // Resets can beat a request's bytes (then the server never sees it), but most are seen and cut.
    expect(seen).toBeGreaterThan(STREAMS * 0.9);
    expect(cancelled).toBeGreaterThan(STREAMS * 0.5);
    for (const name of ["reading_body", "before_response", "streaming"])
      expect(stage(name)).toBeGreaterThan(0);

    // Logged at info as client_closed_request; nothing at error level.
    expect(logLines.filter((l) => l.level >= 50)).toEqual([]);
    const closedLines = logLines.filter((l) => l.msg === "completion" && l.status === 499);
    expect(closedLines.length).toBe(cancelled);
    expect(closedLines.every((l) => l.level === 30 && l.outcome === "client_closed_request")).toBe(true);
  });
});
