import type { Context } from "hono";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { compose } from "../../src/compose.js";
import { parseConfig } from "../../src/config/load.js";
import { VirtualClock } from "../../src/core/clock.js";
import { GatewayError } from "../../src/core/errors.js";
import { type AppEnv, IN_PROCESS } from "../../src/http/env.js";
import { authorize } from "../../src/http/routes/admin.js";
import { json } from "../helpers/json.js";

function fleet() {
  const clock = new VirtualClock();
  const config = parseConfig({
    models: [
      {
        id: "m",
        profile: "Qwen2.5-0.5B",
        routing: { policy: "round-robin", timeouts: { firstTokenMs: 2000 } },
      },
    ],
    deployments: [
      { name: "h100", model: "m", replicas: 2, backend: { type: "simulated", hardware: "H100-SXM-80GB" } },
      { name: "l4", model: "m", provider: "other", backend: { type: "simulated", hardware: "L4" } },
    ],
  });
  const composed = compose({ config, clock, logger: pino({ level: "silent" }), processMetrics: false });
  // The admin API serves in-process callers only when they say so (IN_PROCESS), never for want of a socket.
  const call = async (path: string, init?: RequestInit, env = IN_PROCESS) => {
    const pending = Promise.resolve(composed.app.request(path, init, env));
    let settled = false;
    void pending.finally(() => {
      settled = true;
    });
    for (let i = 0; !settled && i < 100_000; i++) await clock.advance(10);
    return pending;
  };
  const chat = (maxTokens = 4) =>
    call("/v1/chat/completions", {
      method: "POST",
      body: JSON.stringify({
        model: "m",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: maxTokens,
      }),
    });
  const setFault = (id: string, fault: unknown) =>
    call(`/admin/replicas/${id}/faults`, { method: "POST", body: JSON.stringify(fault) });
  return { clock, ...composed, call, chat, setFault };
}

describe("admin API", () => {
  it("lists replicas with their state", async () => {
    const f = fleet();
    const body = await json(await f.call("/admin/replicas"));
    expect(body.data.map((r: { id: string }) => r.id)).toEqual(["h100/0", "h100/1", "l4/0"]);
    expect(body.data[2]).toMatchObject({
      model: "m",
      deployment: "l4",
      provider: "other",
      gpu: "L4",
      ready: true,
      breaker: "closed",
      outstanding: 0,
      fault: { mode: "none" },
    });
  });

  it("takes a replica down with an outage; traffic goes to the others with no client-visible error", async () => {
    const f = fleet();
    const res = await f.setFault("h100/0", { mode: "outage" });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ id: "h100/0", ready: false, fault: { mode: "outage" } });
    const served = new Set<string | null>();
    for (let i = 0; i < 6; i++) {
      const r = await f.chat();
      expect(r.status).toBe(200);
      served.add(r.headers.get("x-tollgate-replica"));
    }
    expect(served.has("h100/0")).toBe(false);
    await f.setFault("h100/0", { mode: "none" });
    const after = await json(await f.call("/admin/replicas"));
    expect(after.data[0]).toMatchObject({ ready: true, fault: { mode: "none" } });
  });

  it("injects errors (retried elsewhere) and hangs (first-token timeout, retried elsewhere)", async () => {
    const f = fleet();
    await f.setFault("h100/0", { mode: "errors", rate: 1 });
    await f.setFault("h100/1", { mode: "hang" });
    for (let i = 0; i < 3; i++) {
      const r = await f.chat();
      expect(r.status).toBe(200);
      expect(r.headers.get("x-tollgate-replica")).toBe("l4/0");
    }
  });

  it("slows a replica's stream down by a factor", async () => {
    const f = fleet();
    const timed = async () => {
      const start = f.clock.now();
      for (let i = 0; i < 3; i++) await f.chat(60);
      return f.clock.now() - start;
    };
    const normal = await timed();
    for (const id of ["h100/0", "h100/1", "l4/0"]) await f.setFault(id, { mode: "slow", factor: 4 });
    expect(await timed()).toBeGreaterThan(normal * 2);
  });

  it("rejects bad faults and unknown replicas with OpenAI-style errors", async () => {
    const f = fleet();
    const bad = await f.setFault("h100/0", { mode: "explode" });
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.param).toBe("mode");
    const missing = await f.setFault("nope/0", { mode: "none" });
    expect(missing.status).toBe(404);
  });

  it("refuses a request with no peer and no in-process binding", async () => {
    const f = fleet();
    const res = await f.call(
      "/admin/replicas/h100%2F0/faults",
      { method: "POST", body: '{"mode":"outage"}' },
      {},
    );
    expect(res.status).toBe(403);
    expect((await json(res)).error).toMatchObject({ code: "forbidden", type: "permission_error" });
    const after = await json(await f.call("/admin/replicas"));
    expect(after.data[0].fault).toEqual({ mode: "none" });
  });

  it("answers loopback peers, and others (or every peer with requireKey) only with the admin key", () => {
    const ctx = (peer: string | undefined, authorization?: string) =>
      ({
        env: {
          connection: { peer, timedOut: false },
          incoming: {
            socket: { remoteAddress: "127.0.0.1" },
            headers: authorization ? { authorization } : {},
          },
        },
        req: { header: () => undefined },
      }) as unknown as Context<AppEnv>;
    const key = "a-very-long-admin-key";
    const open = { key: undefined, requireKey: false };
    const keyed = { key, requireKey: false };
    const strict = { key, requireKey: true };
    expect(() => authorize(ctx("127.0.0.1"), open)).not.toThrow();
    expect(() => authorize(ctx("127.0.0.2"), open)).not.toThrow();
    expect(() => authorize(ctx("::1"), open)).not.toThrow();
    expect(() => authorize(ctx("::ffff:127.0.0.1"), open)).not.toThrow();
    expect(() => authorize(ctx("10.1.2.3"), open)).toThrow(GatewayError);
    expect(() => authorize(ctx("10.1.2.3", "Bearer wrong-key-but-long-enough"), keyed)).toThrow(/loopback/);
    expect(() => authorize(ctx("10.1.2.3", `Bearer ${key}`), keyed)).not.toThrow();
    // No recorded peer: refused, whatever the live socket says.
    expect(() => authorize(ctx(undefined), open)).toThrow(/cannot tell/);
    expect(() => authorize(ctx(undefined, `Bearer ${key}`), keyed)).toThrow(/cannot tell/);
    // requireKey: loopback (a reverse proxy on the host) shows the key like everyone else.
    expect(() => authorize(ctx("127.0.0.1"), strict)).toThrow(/requires the admin key/);
    expect(() => authorize(ctx("127.0.0.1", `Bearer ${key}`), strict)).not.toThrow();
  });
});
