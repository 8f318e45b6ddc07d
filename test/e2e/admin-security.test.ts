import { afterEach, describe, expect, it } from "vitest";
import type { ConfigInput } from "../../src/config/schema.js";
import { json } from "../helpers/json.js";
import { type LiveServer, liveServer, openSocket, requestHead } from "../helpers/live-server.js";
import { parsePrometheusText, sampleValue } from "../helpers/prometheus.js";

/**
 * The admin API over real sockets. The bypass it must not have: a client that resets its connection right
 * after writing a request left the handler with no peer address, which used to read as "in-process".
 */
const KEY = "admin-key-for-the-e2e-test";
const BEARER = { authorization: `Bearer ${KEY}` };

function fleet(admin: ConfigInput["admin"], server: ConfigInput["server"] = {}): ConfigInput {
  return {
    server,
    admin,
    models: [{ id: "m", profile: "Qwen2.5-0.5B" }],
    deployments: [
      { name: "h", model: "m", replicas: 2, backend: { type: "simulated", hardware: "H100-SXM-80GB" } },
    ],
  };
}

let live: LiveServer | undefined;
afterEach(async () => {
  await live?.close();
  live = undefined;
});

async function faults(base: string): Promise<string[]> {
  const body = await json(await fetch(`${base}/admin/replicas`, { headers: BEARER }));
  return body.data.map((r: { fault: { mode: string } }) => r.fault.mode);
}

/** Writes a fault request on a raw socket and resets the connection at once (RST, no FIN). */
async function writeAndReset(port: number, id: string, localAddress?: string): Promise<void> {
  const client = await openSocket(port, localAddress === undefined ? {} : { localAddress });
  const body = '{"mode":"outage"}';
  client.write(requestHead("POST", `/admin/replicas/${encodeURIComponent(id)}/faults`, body.length) + body);
  client.socket.resetAndDestroy();
  await client.closed;
}

describe("admin API authorization on the real server", () => {
  it("refuses a keyless request whose client resets right after writing it: no fault is applied", async () => {
    live = await liveServer(fleet({ key: KEY, requireKey: true }));
    // 127.0.0.2 is loopback too; before the fix it was outside the loopback list and the reset got it in.
    for (let i = 0; i < 40; i++)
      await writeAndReset(live.port, `h/${i % 2}`, i % 4 < 2 ? "127.0.0.2" : undefined);
    // Let the server run every handler the resets left behind before looking.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await faults(live.base)).toEqual(["none", "none"]);
    // The only admin request served is the listing above; the reset ones were refused (403, or 499 when the
    // refusal found the client gone), or never parsed at all when the reset beat the request's bytes.
    const samples = parsePrometheusText(await (await fetch(`${live.base}/metrics`)).text());
    const admin = (status: string) =>
      sampleValue(samples, "tollgate_requests_total", { endpoint: "admin", status });
    expect(admin("200")).toBe(1);
    console.info(`admin resets: ${admin("403")} answered 403, ${admin("499")} recorded 499, of 40`);
  });

  it("with requireKey, a loopback client needs the key like any other", async () => {
    live = await liveServer(fleet({ key: KEY, requireKey: true }));
    const keyless = await fetch(`${live.base}/admin/replicas`);
    expect(keyless.status).toBe(403);
    expect((await json(keyless)).error).toMatchObject({ code: "forbidden", type: "permission_error" });
    const set = await fetch(`${live.base}/admin/replicas/h%2F1/faults`, {
      method: "POST",
      headers: BEARER,
      body: '{"mode":"outage"}',
    });
    expect(set.status).toBe(200);
    expect(await faults(live.base)).toEqual(["none", "outage"]);
  });

  it("requires the key by default when server.host is not loopback, and not when it is", async () => {
    live = await liveServer(fleet({ key: KEY }, { host: "0.0.0.0" }));
    expect((await fetch(`${live.base}/admin/replicas`)).status).toBe(403);
    expect((await fetch(`${live.base}/admin/replicas`, { headers: BEARER })).status).toBe(200);
    await live.close();
    live = await liveServer(fleet({}, { host: "127.0.0.1" }));
    expect((await fetch(`${live.base}/admin/replicas`)).status).toBe(200);
  });
});
