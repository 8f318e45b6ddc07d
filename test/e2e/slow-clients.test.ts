import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { ConfigInput } from "../../src/config/schema.js";
import { json } from "../helpers/json.js";
import {
  type LiveServer,
  liveServer,
  openSocket,
  type RawClient,
  requestHead,
} from "../helpers/live-server.js";

/**
 * Slow clients on real sockets, with the server's timeouts made small: headers within 400 ms, the whole
 * request within 600 ms, at most 300 ms between two chunks of a body. Slowloris connections are closed with
 * a 408 while other clients are served as usual, and unfinished uploads hold no concurrency slot.
 */
const TIMEOUTS = { headersTimeoutMs: 400, requestTimeoutMs: 600, bodyIdleTimeoutMs: 300 };
const KEY = "slow-clients-tenant-key";

function fleet(server: ConfigInput["server"]): ConfigInput {
  return {
    server,
    guard: {
      challenge: { enabled: false },
      anonymous: { limits: { concurrentRequests: 1_000 } },
      tenants: { t: { limits: { concurrentRequests: 4 } } },
      apiKeys: [{ name: "k", sha256: createHash("sha256").update(KEY).digest("hex"), tenant: "t" }],
    },
    models: [
      { id: "m", profile: "Qwen2.5-0.5B" },
      // Slow enough (about 60 ms a token on an L4) for a stream to outlast requestTimeoutMs.
      { id: "slow", profile: "Llama-3.1-8B" },
    ],
    deployments: [
      {
        name: "h",
        model: "m",
        backend: {
          type: "simulated",
          hardware: "H100-SXM-80GB",
          output: { lengthMedian: 8, lengthSigma: 0 },
        },
      },
      {
        name: "l4",
        model: "slow",
        backend: { type: "simulated", hardware: "L4", output: { lengthMedian: 1000, lengthSigma: 0 } },
      },
    ],
  };
}

let live: LiveServer | undefined;
afterEach(async () => {
  await live?.close();
  live = undefined;
});

const CHAT = JSON.stringify({ model: "m", max_tokens: 8, messages: [{ role: "user", content: "hello" }] });

/** A normal chat completion; resolves to its status and how long it took. */
async function normalRequest(base: string, headers: Record<string, string> = {}) {
  const start = performance.now();
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: CHAT,
  });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - start };
}

/** Sends `text` one byte every `everyMs` until the socket closes or the text runs out. */
function dribble(client: RawClient, text: string, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (client.socket.destroyed || i >= text.length) return clearInterval(timer);
    client.write(text[i++]!);
  }, everyMs);
  void client.closed.then(() => clearInterval(timer));
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;

describe("server timeouts against slow clients", () => {
  it("closes 200 slowloris connections with a 408 while normal requests are served", async () => {
    live = await liveServer(fleet(TIMEOUTS));
    const { base, port } = live;
    const baseline: number[] = [];
    for (let i = 0; i < 10; i++) baseline.push((await normalRequest(base)).ms);

    const started = performance.now();
    const slow: { kind: string; client: RawClient }[] = [];
    const body = `${CHAT}${" ".repeat(200)}`;
    for (let i = 0; i < 200; i++) {
      const client = await openSocket(port);
      const kind = ["headers", "body", "stalled", "verify"][i % 4]!;
      slow.push({ kind, client });
      if (kind === "headers") {
        // Never finishes its headers: one byte every 50 ms.
        dribble(client, requestHead("POST", "/v1/chat/completions", body.length) + body, 50);
      } else if (kind === "body") {
        // Headers at once, then the body a byte every 50 ms: never idle for 300 ms, but never done in 600.
        client.write(requestHead("POST", "/v1/chat/completions", body.length));
        dribble(client, body, 50);
      } else {
        // A few bytes of the body, then nothing (a completion, or the challenge verify route).
        const path = kind === "verify" ? "/v1/challenge/verify" : "/v1/chat/completions";
        client.write(requestHead("POST", path, body.length) + body.slice(0, 10));
      }
    }

    // Normal clients meanwhile: four lanes of five requests.
    const during = (
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          const results: { status: number; ms: number }[] = [];
          for (let i = 0; i < 5; i++) results.push(await normalRequest(base));
          return results;
        }),
      )
    ).flat();

    const closedAt = await Promise.all(slow.map(({ client }) => client.closed.then(() => performance.now())));
    const lastClosedMs = Math.max(...closedAt) - started;
    const statuses = new Map<string, Map<number | undefined, number>>();
    for (const { kind, client } of slow) {
      const counts = statuses.get(kind) ?? new Map<number | undefined, number>();
      counts.set(client.status, (counts.get(client.status) ?? 0) + 1);
      statuses.set(kind, counts);
    }
    console.info(
      `slow clients: all 200 closed ${lastClosedMs.toFixed(0)} ms after the first opened; statuses ` +
        `${JSON.stringify(Object.fromEntries([...statuses].map(([k, v]) => [k, Object.fromEntries(v)])))}; ` +
        `normal requests p50/max ${percentile(baseline, 0.5).toFixed(1)}/${Math.max(...baseline).toFixed(1)} ms ` +
        `before, ${percentile(
          during.map((r) => r.ms),
          0.5,
        ).toFixed(1)}/${Math.max(...during.map((r) => r.ms)).toFixed(1)} ms during`,
    );

    // Every slow connection got an OpenAI-style 408 and was closed, within a few timeouts of opening.
    for (const { client } of slow) {
      expect(client.status).toBe(408);
      expect(client.json).toMatchObject({
        error: { code: "request_timeout", type: "invalid_request_error", param: null },
      });
    }
    expect(lastClosedMs).toBeLessThan(5_000);
    // Normal clients were served, and not held up behind the slow ones.
    expect(during.every((r) => r.status === 200)).toBe(true);
    // (One held behind the slow clients would take at least their timeouts.)
    expect(Math.max(...during.map((r) => r.ms))).toBeLessThan(TIMEOUTS.requestTimeoutMs);
    // Body timeouts reached the app and are recorded as 408 (headers timeouts never become requests).
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(
      /tollgate_requests_total\{endpoint="chat_completions",model="",status="408"\} 100/,
    );
    expect(metrics).toMatch(
      /tollgate_requests_total\{endpoint="challenge_verify",model="",status="408"\} 50/,
    );
    expect(metrics).not.toMatch(/status="5\d\d"/);
  });

  it("answers malformed HTTP and oversized headers with OpenAI-style errors, and closes", async () => {
    live = await liveServer(fleet(TIMEOUTS));
    const garbage = await openSocket(live.port);
    garbage.write("NOT HTTP AT ALL\r\n\r\n");
    await garbage.closed;
    expect(garbage.status).toBe(400);
    expect(garbage.json).toMatchObject({ error: { code: "invalid_request", type: "invalid_request_error" } });
    const huge = await openSocket(live.port);
    huge.write(`GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    await huge.closed;
    expect(huge.status).toBe(431);
    expect(huge.json).toMatchObject({ error: { code: "request_headers_too_large" } });
  });

  it("lets a response stream for longer than requestTimeoutMs (it covers receiving the request only)", async () => {
    live = await liveServer(fleet(TIMEOUTS));
    const start = performance.now();
    const res = await fetch(`${live.base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "slow",
        stream: true,
        max_tokens: 24,
        messages: [{ role: "user", content: "go" }],
      }),
    });
    const text = await res.text();
    const ms = performance.now() - start;
    console.info(
      `stream of 24 tokens: ${ms.toFixed(0)} ms with requestTimeoutMs ${TIMEOUTS.requestTimeoutMs}`,
    );
    expect(res.status).toBe(200);
    expect(ms).toBeGreaterThan(2 * TIMEOUTS.requestTimeoutMs);
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
  });
});

describe("guard concurrency and request bodies", () => {
  it("does not let four unfinished uploads lock out a tenant whose limit is four", async () => {
    live = await liveServer(fleet({ bodyIdleTimeoutMs: 10_000 }));
    const { base, port, composed } = live;
    const auth = { authorization: `Bearer ${KEY}` };
    const uploads: RawClient[] = [];
    for (let i = 0; i < 4; i++) {
      const client = await openSocket(port);
      client.write(requestHead("POST", "/v1/chat/completions", CHAT.length, auth) + CHAT.slice(0, 10));
      uploads.push(client);
    }
    // The uploads' heads have been through the guard (each took a request from the rate limit).
    await new Promise((resolve) => setTimeout(resolve, 100));
    const slots = () => composed.store.increment("rl:conc:tenant:t", 0, { ttlMs: 60_000 });
    expect(await slots()).toBe(0);
    for (let i = 0; i < 3; i++) expect((await normalRequest(base, auth)).status).toBe(200);
    expect(uploads.every((u) => !u.socket.destroyed && u.received === "")).toBe(true);

    // The limit itself still holds for requests whose bodies are in: four long streams hold four slots, and
    // a fifth request is refused.
    const streaming = new AbortController();
    const long = JSON.stringify({
      model: "slow",
      stream: true,
      max_tokens: 500,
      messages: [{ role: "user", content: "go" }],
    });
    const held = Array.from({ length: 4 }, () =>
      fetch(`${base}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...auth },
        body: long,
        signal: streaming.signal,
      })
        .then((res) => res.text())
        .catch(() => undefined),
    );
    for (let i = 0; i < 100 && (await slots()) < 4; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await slots()).toBe(4);
    const refused = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...auth },
      body: CHAT,
    });
    expect(refused.status).toBe(429);
    expect((await json(refused)).error.message).toMatch(/concurrent/);
    streaming.abort();
    await Promise.all(held);
    for (let i = 0; i < 100 && (await slots()) > 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await slots()).toBe(0);
    for (const upload of uploads) upload.socket.destroy();
  });
});
