import { describe, expect, it } from "vitest";
import type { WorkloadRequest } from "../../bench/lib/workload.js";
import { createXCacheSender } from "../../bench/lib/x-cache-sender.js";
import { fakeRequest, loopbackServers, withBody } from "../helpers/loopback.js";

function request(xCache: string): WorkloadRequest {
  return fakeRequest({
    body: { stream: false, want: xCache },
    headers: { "content-type": "application/json" },
    maxTokens: 4,
  });
}

const listen = loopbackServers();

/** Answers with the `x-cache` (and, for "HIT:kind", `x-tollgate-cache-kind`) the request body asks for. */
async function serve(): Promise<string> {
  return listen(
    withBody((text, _req, res) => {
      const [xCache, kind] = String(JSON.parse(text).want).split(":");
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (xCache !== "none") headers["x-cache"] = xCache!;
      if (kind !== undefined) headers["x-tollgate-cache-kind"] = kind;
      res.writeHead(xCache === "none" ? 500 : 200, headers);
      res.end(JSON.stringify({ choices: [], usage: { completion_tokens: 3 } }));
    }),
  );
}

describe("createXCacheSender", () => {
  it("counts responses by x-cache and hit kind, and times each from the send", async () => {
    let now = 0;
    const sender = createXCacheSender({ baseUrl: await serve(), now: () => (now += 5) });
    const outcomes = [];
    for (const want of ["HIT:exact", "HIT:coalesced", "HIT:exact", "MISS", "BYPASS", "none"]) {
      outcomes.push(await sender.send(request(want), () => {}));
    }
    await sender.close();
    expect(outcomes[0]).toEqual({ status: 200, completionTokens: 3 });
    expect(outcomes[5]?.status).toBe(500);
    expect(sender.tally).toEqual({
      HIT: 3,
      MISS: 1,
      BYPASS: 1,
      none: 1,
      hitKinds: { exact: 2, coalesced: 1 },
    });
    const latencies = sender.latencies();
    expect(Object.keys(latencies).sort()).toEqual(["BYPASS", "HIT", "MISS", "none"]);
    expect(latencies["HIT"]).toMatchObject({ count: 3, max: 5 });
  });

  it("neither counts nor times a request that got no response", async () => {
    const sender = createXCacheSender({ baseUrl: "http://127.0.0.1:1" });
    const outcome = await sender.send(request("HIT"), () => {});
    await sender.close();
    expect(outcome.status).toBe(0);
    expect(outcome.error).toEqual(expect.any(String));
    expect(sender.tally).toEqual({ HIT: 0, MISS: 0, BYPASS: 0, none: 0, hitKinds: {} });
    expect(sender.latencies()).toEqual({});
  });
});
