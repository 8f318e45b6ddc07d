import { describe, expect, it } from "vitest";
import { FUZZ_CONFIG_TARGET, type FuzzCase, fuzzCases } from "../../bench/lib/fuzz-cases.js";
import { checkResponse, isResetWhileSending } from "../../bench/lib/fuzz-run.js";
import type { RawResponse } from "../../bench/lib/raw-http.js";

const cases = (seed: number, count: number) => [...fuzzCases({ seed, count, target: FUZZ_CONFIG_TARGET })];

describe("fuzzCases", () => {
  it("is reproducible from its seed and differs between seeds", () => {
    const a = cases(1, 200).map((c) => c.bytes.toString("base64"));
    expect(cases(1, 200).map((c) => c.bytes.toString("base64"))).toEqual(a);
    expect(cases(2, 200).map((c) => c.bytes.toString("base64"))).not.toEqual(a);
  });

  it("covers every route and every kind of hostility in 2,000 cases", () => {
    const all = cases(20_240_601, 2000);
    const paths = new Set(all.map((c) => c.path));
    for (const path of [
      "/v1/chat/completions",
      "/v1/completions",
      "/v1/challenge/verify",
      "/admin/replicas",
      "/admin/replicas/zero/0/faults",
      "/v1/models",
      "/healthz",
      "/readyz",
      "/metrics",
    ]) {
      expect(paths, path).toContain(path);
    }
    const kinds = new Set(all.map((c) => c.kind));
    for (const kind of [
      "invalid JSON",
      "deep nesting",
      "10000 messages",
      "long word",
      "wrong values",
      "text mutation",
      "invalid UTF-8",
      "odd method",
      "odd path",
      "malformed-http",
    ]) {
      expect(kinds, kind).toContain(kind);
    }
    // Every well-formed request frames its body with an exact Content-Length.
    for (const c of all.filter((x) => !x.beforeApp)) {
      const split = c.bytes.indexOf("\r\n\r\n");
      const length = Number(/Content-Length: (\d+)/.exec(c.bytes.subarray(0, split).toString("latin1"))?.[1]);
      expect(length).toBe(c.bytes.length - split - 4);
    }
  });

  it("never sends the replica a fault other than mode none", () => {
    for (const c of cases(5, 3000).filter((x) => x.path.endsWith("/faults"))) {
      const body = c.bytes.subarray(c.bytes.indexOf("\r\n\r\n") + 4).toString("utf8");
      expect(body).not.toMatch(/"mode":"(outage|errors|slow|hang)"/);
    }
  });
});

describe("checkResponse", () => {
  const request = {
    method: "POST",
    path: "/v1/chat/completions",
    beforeApp: false,
    acceptsHtml: false,
  } as FuzzCase;
  const response = (status: number, body: string, type = "application/json"): RawResponse => ({
    status,
    headers: { "content-type": type },
    body: Buffer.from(body),
    ms: 1,
  });
  const openAi = JSON.stringify({
    error: { message: "m", type: "invalid_request_error", param: null, code: "c" },
  });

  it("passes successes and OpenAI error bodies; fails 5xx, missing answers and other error bodies", () => {
    expect(checkResponse(request, response(200, "{}"))).toBeUndefined();
    expect(checkResponse(request, response(400, openAi))).toBeUndefined();
    expect(checkResponse(request, response(500, openAi))).toBe("status 500");
    expect(checkResponse(request, { ...response(0, ""), error: "reset" })).toBe("no response (reset)");
    expect(checkResponse(request, response(400, '{"error":"x"}'))).toMatch(/not \{error/);
    expect(checkResponse(request, response(400, openAi, "text/plain"))).toMatch(/content-type/);
  });

  it("exempts what the app never sees, HEAD, and the challenge page a browser asked for", () => {
    expect(checkResponse({ ...request, beforeApp: true }, response(400, "", ""))).toBeUndefined();
    expect(checkResponse({ ...request, method: "HEAD" }, response(404, "", ""))).toBeUndefined();
    expect(
      checkResponse({ ...request, acceptsHtml: true }, response(403, "<html>", "text/html")),
    ).toBeUndefined();
    expect(checkResponse(request, response(403, "<html>", "text/html"))).toMatch(/content-type/);
  });

  it("tells a reset under an over-limit body from a missing answer", () => {
    const reset = { ...response(0, ""), error: "write EPIPE" };
    expect(isResetWhileSending({ ...request, bodyBytes: 2_000_000 }, reset)).toBe(true);
    expect(isResetWhileSending({ ...request, bodyBytes: 100 }, reset)).toBe(false);
    expect(
      isResetWhileSending({ ...request, bodyBytes: 2_000_000 }, { ...reset, error: "no response" }),
    ).toBe(false);
  });
});
