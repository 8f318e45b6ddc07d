import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runClosedLoop, runClosedLoopRaw } from "../../bench/lib/closed-loop.js";
import { CHAT_WORKLOAD, createWorkload } from "../../bench/lib/workload.js";

/** A stand-in for the gateway: records request bodies and answers with `usage.completion_tokens = 5`. */
let server: Server;
let origin: string;
const bodies: string[] = [];
const methods = new Set<string>();

beforeAll(async () => {
  server = createServer((req, res) => {
    methods.add(req.method ?? "");
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => {
      bodies.push(body);
      if (req.url === "/missing") {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ choices: [], usage: { completion_tokens: 5 } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("runClosedLoop", () => {
  it("sends a fresh workload body per request and counts completion tokens", async () => {
    bodies.length = 0;
    const workload = createWorkload({
      ...CHAT_WORKLOAD,
      promptTokens: { median: 32, sigma: 0.5, min: 8, max: 64 },
    });
    const result = await runClosedLoop({
      url: `${origin}/v1/chat/completions`,
      connections: 4,
      durationSec: 0.5,
      next: () => workload.next(),
    });
    expect(result.requests).toBeGreaterThan(20);
    expect(result.non2xx).toBe(0);
    expect(result.errors).toBe(0);
    // Every body the server saw is a different request (the workload has no repeats).
    expect(new Set(bodies).size).toBe(bodies.length);
    expect(bodies.length).toBeGreaterThanOrEqual(result.requests);
    expect(JSON.parse(bodies[0]!)).toMatchObject({ model: CHAT_WORKLOAD.model });
    expect(methods).toEqual(new Set(["POST"]));
    expect(result.requestsPerSecond).toBeGreaterThan(0);
    expect(result.completionTokensPerSecond! / result.requestsPerSecond).toBeCloseTo(5, 0);
    expect(result.latency.count).toBe(result.requests);
    expect(result.latency.max).toBeGreaterThanOrEqual(result.latency.p50);
  });
});

describe("runClosedLoopRaw", () => {
  it("repeats one fixed request and counts non-2xx responses", async () => {
    const result = await runClosedLoopRaw({ url: `${origin}/missing`, connections: 2, durationSec: 0.3 });
    expect(result.requests).toBeGreaterThan(0);
    expect(result.non2xx).toBe(result.requests);
    expect(result).not.toHaveProperty("completionTokensPerSecond");
  });

  it("rejects bad options before starting", async () => {
    await expect(runClosedLoopRaw({ url: origin, connections: 0, durationSec: 1 })).rejects.toThrow(
      /connections/,
    );
    await expect(runClosedLoopRaw({ url: origin, connections: 1, durationSec: 0 })).rejects.toThrow(
      /durationSec/,
    );
  });
});
