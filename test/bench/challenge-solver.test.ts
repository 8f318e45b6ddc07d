import { describe, expect, it } from "vitest";
import {
  type Attempt,
  clientOf,
  createChallengeSolver,
  PASS_HEADER,
  parseChallenge,
} from "../../bench/lib/challenge-solver.js";
import type { HttpOutcome } from "../../bench/lib/http-sender.js";
import type { SolveFn } from "../../bench/lib/pow-solver.js";
import type { WorkloadRequest } from "../../bench/lib/workload.js";
import { checkNonce, solve } from "../../src/guard/pow.js";

const ORIGIN = "http://gateway.test";
const DIFFICULTY = 6;

function request(headers: Record<string, string> = {}): WorkloadRequest {
  return {
    body: {},
    bodyText: "{}",
    headers: { "content-type": "application/json", ...headers },
    promptTokens: 1,
    userTokens: 1,
    maxTokens: 1,
    repeated: false,
  };
}

function challengeBody(id: string, seed: string): string {
  return JSON.stringify({
    error: {
      message: "Verification required",
      type: "challenge_required",
      param: null,
      code: "challenge_required",
      challenge: { id, seed, algorithm: "sha256", difficulty: DIFFICULTY, expires_at: 2_000_000_000 },
    },
  });
}

/**
 * A fake guard: requests without a pass it issued to their client get a challenge (ids c1, c2, ...); the verify
 * endpoint checks the nonce with the gateway's own checkNonce and the identity headers against the challenge.
 */
function fakeGateway(options: { verifyStatus?: number; rechallenge?: boolean } = {}) {
  const challenges = new Map<string, { seed: string; client: string }>();
  const passes = new Map<string, string>(); // pass -> client
  const attempts: { headers: Record<string, string> }[] = [];
  const verifies: { body: Record<string, unknown>; headers: Record<string, string> }[] = [];
  let issued = 0;
  const attempt: Attempt = async (req, onFirstByte) => {
    attempts.push({ headers: { ...req.headers } });
    const client = clientOf(req.headers);
    const pass = req.headers[PASS_HEADER];
    if (!options.rechallenge && pass !== undefined && passes.get(pass) === client) {
      onFirstByte();
      return { status: 200, completionTokens: 3, headers: {} } satisfies HttpOutcome;
    }
    const id = `c${++issued}`;
    challenges.set(id, { seed: `seed-${id}`, client });
    return { status: 403, completionTokens: 0, headers: {}, errorBody: challengeBody(id, `seed-${id}`) };
  };
  const fetch = (async (url: string | URL | Request, init?: RequestInit) => {
    expect(String(url)).toBe(`${ORIGIN}/v1/challenge/verify`);
    const headers = init?.headers as Record<string, string>;
    const body = JSON.parse(String(init?.body)) as { id: string; nonce: string };
    verifies.push({ body, headers });
    const stored = challenges.get(body.id);
    const ok =
      options.verifyStatus === undefined &&
      stored !== undefined &&
      stored.client === clientOf(headers) &&
      checkNonce(stored.seed, body.nonce, DIFFICULTY);
    if (!ok) return new Response('{"error":{"message":"no"}}', { status: options.verifyStatus ?? 400 });
    const pass = `pass-${body.id}`;
    passes.set(pass, stored.client);
    return Response.json({ pass, expires_at: 2_000_000_000 });
  }) as typeof globalThis.fetch;
  return { attempt, fetch, attempts, verifies };
}

function countingSolver(): { solve: SolveFn; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    solve: async (seed, difficulty) => {
      calls.push(seed);
      return { nonce: solve(seed, difficulty), computeMs: 5 };
    },
  };
}

describe("createChallengeSolver", () => {
  it("solves a challenge, verifies with the client's identity headers and retries once with the pass", async () => {
    const gateway = fakeGateway();
    const solver = countingSolver();
    let now = 0;
    const client = createChallengeSolver({
      baseUrl: ORIGIN,
      ...gateway,
      solve: solver.solve,
      now: () => now++,
    });
    let firstBytes = 0;
    const bot = request({ "x-forwarded-for": "10.0.0.1", "x-tollgate-slo-class": "batch" });
    expect(await client.send(bot, () => firstBytes++)).toEqual({ status: 200, completionTokens: 3 });
    expect(firstBytes).toBe(1);
    expect(solver.calls).toEqual(["seed-c1"]);
    expect(gateway.verifies).toHaveLength(1);
    expect(gateway.verifies[0]!.body).toMatchObject({ id: "c1", solve_ms: 5 });
    expect(checkNonce("seed-c1", String(gateway.verifies[0]!.body["nonce"]), DIFFICULTY)).toBe(true);
    // Only what identifies the client goes to verify, not the request's other headers.
    expect(gateway.verifies[0]!.headers).toEqual({
      "x-forwarded-for": "10.0.0.1",
      "content-type": "application/json",
    });
    expect(gateway.attempts.map((a) => a.headers[PASS_HEADER])).toEqual([undefined, "pass-c1"]);

    // The client's next request carries the pass from the start; another client's does not.
    await client.send(bot, () => {});
    await client.send(request({ "x-forwarded-for": "10.0.0.2" }), () => {});
    expect(gateway.attempts.slice(2).map((a) => a.headers[PASS_HEADER])).toEqual([
      "pass-c1",
      undefined,
      "pass-c2",
    ]);
    expect(client.stats()).toMatchObject({
      challenged: 2,
      solved: 2,
      failed: 0,
      retried: 2,
      computeMsTotal: 10,
      difficulties: { [DIFFICULTY]: 2 },
    });
    expect(client.stats().passWait.count).toBe(2);
  });

  it("shares one solve among concurrent challenges of a client", async () => {
    const gateway = fakeGateway();
    const solver = countingSolver();
    const client = createChallengeSolver({ baseUrl: ORIGIN, ...gateway, solve: solver.solve });
    const bot = request({ "x-forwarded-for": "10.0.0.9" });
    const outcomes = await Promise.all([1, 2, 3].map(() => client.send(bot, () => {})));
    expect(outcomes.map((o) => o.status)).toEqual([200, 200, 200]);
    expect(solver.calls).toHaveLength(1);
    expect(gateway.verifies).toHaveLength(1);
    expect(client.stats()).toMatchObject({ challenged: 3, solved: 1, retried: 3 });
  });

  it("binds passes to the API key when there is one", async () => {
    const gateway = fakeGateway();
    const client = createChallengeSolver({ baseUrl: ORIGIN, ...gateway, solve: countingSolver().solve });
    await client.send(request({ authorization: "Bearer k1", "x-forwarded-for": "10.0.0.1" }), () => {});
    expect(gateway.verifies[0]!.headers["authorization"]).toBe("Bearer k1");
    // Same address, no key: another client, so no pass yet.
    await client.send(request({ "x-forwarded-for": "10.0.0.1" }), () => {});
    expect(gateway.attempts[2]!.headers[PASS_HEADER]).toBeUndefined();
  });

  it("ends a request as its 403 when verification fails, and tries again on the next challenge", async () => {
    const gateway = fakeGateway({ verifyStatus: 410 });
    const client = createChallengeSolver({ baseUrl: ORIGIN, ...gateway, solve: countingSolver().solve });
    expect(await client.send(request(), () => {})).toEqual({ status: 403, completionTokens: 0 });
    expect(await client.send(request(), () => {})).toEqual({ status: 403, completionTokens: 0 });
    expect(gateway.verifies).toHaveLength(2);
    expect(gateway.attempts).toHaveLength(2);
    expect(client.stats()).toMatchObject({ challenged: 2, solved: 0, failed: 2, retried: 0 });
  });

  it("retries only once, and solves again when a held pass is refused", async () => {
    const gateway = fakeGateway({ rechallenge: true });
    const solver = countingSolver();
    const client = createChallengeSolver({ baseUrl: ORIGIN, ...gateway, solve: solver.solve });
    expect((await client.send(request(), () => {})).status).toBe(403);
    expect(gateway.attempts).toHaveLength(2);
    // The pass it holds is refused: a new puzzle is solved rather than the stale pass resent.
    expect((await client.send(request(), () => {})).status).toBe(403);
    expect(gateway.attempts.map((a) => a.headers[PASS_HEADER])).toEqual([
      undefined,
      "pass-c1",
      "pass-c1",
      "pass-c3",
    ]);
    expect(solver.calls).toEqual(["seed-c1", "seed-c3"]);
    expect(client.stats()).toMatchObject({ challenged: 4, solved: 2, retried: 2 });
  });

  it("passes other answers through untouched, without their headers or body", async () => {
    const solver = countingSolver();
    const outcomes: HttpOutcome[] = [
      { status: 429, completionTokens: 0, headers: { "retry-after": "1" }, errorBody: "{}" },
      { status: 403, completionTokens: 0, headers: {}, errorBody: '{"error":{"code":"forbidden"}}' },
      { status: 0, completionTokens: 0, error: "ECONNRESET" },
    ];
    const attempt: Attempt = async () => outcomes.shift()!;
    const client = createChallengeSolver({ baseUrl: ORIGIN, attempt, solve: solver.solve });
    expect(await client.send(request(), () => {})).toEqual({ status: 429, completionTokens: 0 });
    expect(await client.send(request(), () => {})).toEqual({ status: 403, completionTokens: 0 });
    expect(await client.send(request(), () => {})).toEqual({
      status: 0,
      completionTokens: 0,
      error: "ECONNRESET",
    });
    expect(solver.calls).toEqual([]);
  });
});

describe("parseChallenge", () => {
  it("reads the puzzle of a challenge_required error and nothing else", () => {
    expect(parseChallenge(challengeBody("abc", "s"))).toEqual({
      id: "abc",
      seed: "s",
      algorithm: "sha256",
      difficulty: DIFFICULTY,
      expires_at: 2_000_000_000,
    });
    expect(parseChallenge(undefined)).toBeUndefined();
    expect(parseChallenge("not json")).toBeUndefined();
    expect(parseChallenge('{"error":{"code":"rate_limit_exceeded"}}')).toBeUndefined();
    expect(parseChallenge('{"error":{"code":"challenge_required","challenge":{"id":1}}}')).toBeUndefined();
  });
});

describe("clientOf", () => {
  it("names a client by API key, else forwarded address, else the shared peer", () => {
    expect(clientOf({ authorization: "Bearer k", "x-forwarded-for": "10.0.0.1" })).toBe("key Bearer k");
    expect(clientOf({ "x-forwarded-for": "10.0.0.1" })).toBe("ip 10.0.0.1");
    expect(clientOf({})).toBe("ip peer");
  });
});
