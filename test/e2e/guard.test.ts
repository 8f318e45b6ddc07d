import { createHash } from "node:crypto";
import OpenAI from "openai";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Composed, compose } from "../../src/compose.js";
import { parseConfig } from "../../src/config/load.js";
import { SystemClock } from "../../src/core/clock.js";
import { solve } from "../../src/guard/pow.js";
import { type RunningServer, startServer } from "../../src/http/server.js";

/** The guard end to end: the real server on loopback, the openai SDK with a key, anonymous fetch floods. */
const KEY = "tg-e2e-guard-key";
const config = parseConfig({
  server: { port: 0 },
  guard: {
    tenants: { acme: { tier: "pro", limits: { requestsPerMinute: 600 } } },
    apiKeys: [{ name: "acme", sha256: createHash("sha256").update(KEY).digest("hex"), tenant: "acme" }],
  },
  models: [{ id: "qwen-small", profile: "Qwen2.5-0.5B" }],
  deployments: [
    {
      name: "qwen-h100",
      model: "qwen-small",
      replicas: 2,
      backend: { type: "simulated", hardware: "H100-SXM-80GB", output: { lengthMedian: 4, lengthSigma: 0 } },
    },
  ],
});

let composed: Composed;
let server: RunningServer;
let base: string;

beforeAll(async () => {
  composed = compose({
    config,
    clock: new SystemClock(),
    logger: pino({ level: "silent" }),
    processMetrics: false,
  });
  server = await startServer(composed.app, { port: 0, host: "127.0.0.1" });
  base = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server.close(1000);
  await composed.close();
});

const body = JSON.stringify({
  model: "qwen-small",
  max_tokens: 4,
  messages: [{ role: "user", content: "hi" }],
});
const anonymous = (headers: Record<string, string> = {}) =>
  fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });

describe("guard over HTTP", () => {
  it("never challenges the openai SDK with a valid key at a normal rate, and sends rate-limit headers", async () => {
    const client = new OpenAI({ apiKey: KEY, baseURL: `${base}/v1`, maxRetries: 0 });
    for (let i = 0; i < 30; i++) {
      const { response } = await client.chat.completions
        .create({
          model: "qwen-small",
          max_tokens: 4,
          messages: [{ role: "user", content: `question ${i}` }],
        })
        .withResponse();
      expect(response.status).toBe(200);
      expect(response.headers.get("x-ratelimit-limit-requests")).toBe("600");
    }
    const wrong = new OpenAI({ apiKey: "not-a-key", baseURL: `${base}/v1`, maxRetries: 0 });
    const error = await wrong.chat.completions
      .create({ model: "qwen-small", messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it("challenges an anonymous flood; a solved challenge lets the client through", async () => {
    const responses = await Promise.all(Array.from({ length: 100 }, () => anonymous()));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 403).length).toBeGreaterThan(0);
    const challengedResponse = responses.find((r) => r.status === 403)!;
    const error = ((await challengedResponse.json()) as { error: Record<string, unknown> }).error;
    expect(error["type"]).toBe("challenge_required");
    expect(error["code"]).toBe("challenge_required");
    const challenge = error["challenge"] as {
      id: string;
      seed: string;
      algorithm: string;
      difficulty: number;
      expires_at: number;
    };
    expect(challenge.algorithm).toBe("sha256");
    await Promise.all(responses.filter((r) => r !== challengedResponse).map((r) => r.body?.cancel()));

    const nonce = solve(challenge.seed, challenge.difficulty);
    const verified = await fetch(`${base}/v1/challenge/verify`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: challenge.id, nonce, solve_ms: 5 }),
    });
    expect(verified.status).toBe(200);
    const { pass, expires_at } = (await verified.json()) as { pass: string; expires_at: number };
    expect(expires_at).toBeGreaterThan(Date.now() / 1000);
    expect(verified.headers.get("set-cookie")).toContain("tollgate_pass=");
    // Without the pass the client is still a flooding anonymous one: it is challenged again (knock a few
    // times: its risk sits near the threshold, and which 1-second window the knocks fall in moves it).
    let without = await anonymous();
    for (let i = 0; i < 30 && without.status !== 403; i++) {
      await without.text();
      without = await anonymous();
    }
    expect(without.status).toBe(403);
    await without.text();
    expect((await anonymous({ "x-tollgate-pass": pass })).status).toBe(200);
    expect((await anonymous({ cookie: `tollgate_pass=${pass}` })).status).toBe(200);
    const replay = await fetch(`${base}/v1/challenge/verify`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: challenge.id, nonce }),
    });
    expect(replay.status).toBe(409);
  });

  it("gives a challenged browser a page that solves the challenge itself", async () => {
    // Knock until challenged (the earlier flood may have aged out of the rate window on a slow machine).
    let page = await anonymous({ accept: "text/html,application/xhtml+xml" });
    for (let i = 0; i < 100 && page.status !== 403; i++) {
      await page.text();
      page = await anonymous({ accept: "text/html,application/xhtml+xml" });
    }
    expect(page.status).toBe(403);
    expect(page.headers.get("content-type")).toContain("text/html");
    const html = await page.text();
    expect(html).toContain("crypto.subtle.digest");
    expect(html).toContain("/v1/challenge/verify");
  });
});
