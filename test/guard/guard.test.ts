import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type ConfigInput, guardSchema } from "../../src/config/schema.js";
import { VirtualClock } from "../../src/core/clock.js";
import { GatewayError } from "../../src/core/errors.js";
import type { Challenge } from "../../src/guard/challenges.js";
import { Guard } from "../../src/guard/guard.js";
import { solve } from "../../src/guard/pow.js";
import { createMetrics } from "../../src/metrics/metrics.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import { parsePrometheusText, sampleValue } from "../helpers/prometheus.js";

const KEY = "tg-unit-key";
const sha256 = createHash("sha256").update(KEY).digest("hex");
/** A second tenant's key, with limits far above any rate driven here. */
const BULK_KEY = "tg-unit-bulk-key";
const BULK = { requestsPerMinute: 1_000_000, tokensPerMinute: 100_000_000, concurrentRequests: 1_000 };
const digest = (key: string) => createHash("sha256").update(key).digest("hex");

function guarded(input: ConfigInput["guard"] = {}, load = { value: 0 }) {
  const clock = new VirtualClock({ epochBaseMs: 1_800_000_000_000 });
  const metrics = createMetrics({ processMetrics: false });
  const guard = new Guard({
    config: guardSchema.parse({
      secret: "unit-test-secret-of-thirty-two-chars!",
      tenants: {
        acme: {
          tier: "pro",
          sloClass: "interactive",
          limits: { requestsPerMinute: 6, tokensPerMinute: 600, concurrentRequests: 2 },
        },
        bulk: { tier: "bulk", limits: BULK },
      },
      apiKeys: [
        { name: "acme-1", sha256, tenant: "acme" },
        { name: "bulk-1", sha256: digest(BULK_KEY), tenant: "bulk" },
      ],
      anonymous: { limits: { requestsPerMinute: 10_000 } },
      challenge: { minDifficulty: 4, maxDifficulty: 8 },
      ...input,
    }),
    store: new MemoryStore({ maxBytes: 1 << 22, clock }),
    clock,
    metrics,
    load: () => load.value,
  });
  const keyed = { authorization: `Bearer ${KEY}`, peer: "10.0.0.1" };
  const bulk = { authorization: `Bearer ${BULK_KEY}`, peer: "10.0.0.2" };
  const anon = (peer = "203.0.113.7", pass?: string) => ({ peer, ...(pass && { pass }) });
  const metric = async (name: string, labels: Record<string, string> = {}) =>
    sampleValue(parsePrometheusText(await metrics.registry.metrics()), name, labels);
  return { clock, guard, keyed, bulk, anon, metric, load };
}

async function refusal(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof GatewayError)) throw new Error(`expected a GatewayError, got ${String(error)}`);
  return error;
}

/** Floods as an anonymous client (or as `input`) until challenged; returns the challenge. */
async function challenged(
  g: ReturnType<typeof guarded>,
  peer = "203.0.113.7",
  input: Parameters<Guard["admit"]>[0] = g.anon(peer),
): Promise<Challenge> {
  for (let i = 0; i < 200; i++) {
    try {
      const admission = await g.guard.admit(input);
      await admission.release();
    } catch (error) {
      if (error instanceof GatewayError && error.code === "challenge_required") {
        return error.details?.["challenge"] as Challenge;
      }
      throw error;
    }
  }
  throw new Error("never challenged");
}

describe("identity", () => {
  it("maps a key to its tenant, tier, class and limits; an unknown key is a 401", async () => {
    const g = guarded();
    const identity = g.guard.identify(g.keyed);
    expect(identity).toMatchObject({
      kind: "key",
      subject: "key:acme-1",
      tenant: "acme",
      tier: "pro",
      sloClass: "interactive",
    });
    const error = await refusal(g.guard.admit({ authorization: "Bearer nope" }));
    expect(error.status).toBe(401);
    expect(error.code).toBe("invalid_api_key");
    expect(g.guard.identify(g.anon())).toMatchObject({ kind: "anonymous", subject: "ip:203.0.113.7" });
  });
});

describe("rate limits", () => {
  it("allows a burst up to the limit, then 429 with Retry-After; the bucket refills continuously", async () => {
    const g = guarded();
    for (let i = 0; i < 6; i++) await (await g.guard.admit(g.keyed)).release();
    const limited = await refusal(g.guard.admit(g.keyed));
    expect(limited.status).toBe(429);
    expect(limited.code).toBe("rate_limit_exceeded");
    expect(limited.retryAfterSeconds).toBe(10);
    expect(limited.headers?.["x-ratelimit-remaining-requests"]).toBe("0");
    expect(limited.headers?.["x-ratelimit-reset-requests"]).toBe("1m0s");
    // 6 per minute: one back every 10 s.
    await g.clock.advance(10_000);
    const admission = await g.guard.admit(g.keyed);
    expect(admission.headers["x-ratelimit-limit-requests"]).toBe("6");
    expect(admission.headers["x-ratelimit-remaining-requests"]).toBe("0");
    expect(await g.metric("tollgate_rate_limit_rejections_total", { kind: "requests" })).toBe(1);
  });

  it("takes prompt tokens at admission and charges completion tokens afterwards", async () => {
    const g = guarded();
    const a = await g.guard.admit(g.keyed);
    await a.admitTokens(200);
    expect(a.headers["x-ratelimit-remaining-tokens"]).toBe("400");
    a.charge(350);
    await a.release();
    await g.clock.advance(0);
    const b = await g.guard.admit(g.keyed);
    // 600 - 200 - 350 = 50 left: a 100-token prompt must wait for 50 tokens at 10 per second.
    const short = await refusal(b.admitTokens(100));
    expect(short.status).toBe(429);
    expect(short.retryAfterSeconds).toBe(5);
    await g.clock.advance(5_000);
    await b.admitTokens(100);
    expect(b.headers["x-ratelimit-remaining-tokens"]).toBe("0");
  });

  it("check() leaves the concurrency slot to acquireSlot(), and counts the request once, as allowed", async () => {
    const g = guarded();
    // Three checked requests (bodies still coming) hold no slot: a fourth is admitted outright.
    const checked = [
      await g.guard.check(g.keyed),
      await g.guard.check(g.keyed),
      await g.guard.check(g.keyed),
    ];
    const admitted = await g.guard.admit(g.keyed);
    expect(await g.metric("tollgate_guard_requests_total", { decision: "allowed" })).toBe(1);
    await checked[0]!.acquireSlot();
    await checked[0]!.acquireSlot();
    expect((await refusal(checked[1]!.acquireSlot())).details).toEqual({ limit: "concurrent" });
    expect(await g.metric("tollgate_guard_requests_total", { decision: "allowed" })).toBe(2);
    expect(
      await g.metric("tollgate_guard_requests_total", { decision: "throttled", reason: "concurrent" }),
    ).toBe(1);
    // A released admission gives no slot afterwards, and releasing one that never took a slot frees nothing.
    await checked[2]!.release();
    await checked[2]!.acquireSlot();
    await admitted.release();
    await checked[0]!.release();
    // Both slots are free again: a fifth request takes one, the second checked request the other.
    const a = await g.guard.admit(g.keyed);
    await checked[1]!.acquireSlot();
    await Promise.all([a.release(), checked[1]!.release()]);
  });

  it("caps concurrent requests and frees the slot on release", async () => {
    const g = guarded();
    const a = await g.guard.admit(g.keyed);
    const b = await g.guard.admit(g.keyed);
    expect((await refusal(g.guard.admit(g.keyed))).details).toEqual({ limit: "concurrent" });
    await a.release();
    await a.release();
    const c = await g.guard.admit(g.keyed);
    await Promise.all([b.release(), c.release()]);
  });
});

describe("challenges", () => {
  it("never challenges a keyed client at a normal rate, and challenges an anonymous flood", async () => {
    const g = guarded();
    for (let i = 0; i < 5; i++) {
      await (await g.guard.admit(g.keyed)).release();
      await g.clock.advance(2_000);
    }
    const challenge = await challenged(g);
    expect(challenge).toMatchObject({ algorithm: "sha256" });
    expect(challenge.difficulty).toBeGreaterThanOrEqual(4);
    expect(challenge.seed).toMatch(/^[0-9a-f]{32}$/);
    expect(challenge.expires_at).toBe(1_800_000_000 + 10 + 120);
    expect(
      await g.metric("tollgate_guard_requests_total", {
        decision: "challenged",
        reason: "risk",
        tier: "anonymous",
      }),
    ).toBe(1);
    expect(await g.metric("tollgate_challenges_issued_total")).toBe(1);
  });

  it("a solved challenge gives a pass that lets the client through; verification refuses every bad submission", async () => {
    const g = guarded();
    const peer = "203.0.113.7";
    const challenge = await challenged(g, peer);
    const nonce = solve(challenge.seed, challenge.difficulty);
    let wrong = "0";
    while (solveChecks(challenge, wrong)) wrong = String(Number(wrong) + 1);
    expect((await refusal(g.guard.verify(g.anon(peer), { id: challenge.id, nonce: wrong }))).code).toBe(
      "challenge_failed",
    );
    expect((await refusal(g.guard.verify(g.anon(peer), { id: "nope", nonce }))).status).toBe(404);
    expect((await refusal(g.guard.verify(g.anon("198.51.100.1"), { id: challenge.id, nonce }))).status).toBe(
      403,
    );
    const { pass, expires_at } = await g.guard.verify(g.anon(peer), {
      id: challenge.id,
      nonce,
      solveMs: 120,
    });
    expect(expires_at).toBeGreaterThan(1_800_000_000);
    expect((await refusal(g.guard.verify(g.anon(peer), { id: challenge.id, nonce }))).status).toBe(409);
    // With the pass the flood goes on; without it, another challenge.
    const admission = await g.guard.admit(g.anon(peer, pass));
    await admission.release();
    expect((await refusal(g.guard.admit(g.anon(peer)))).code).toBe("challenge_required");
    // Bound to the client: another address cannot use it (and is challenged: it floods too, with a bad pass).
    expect(await g.metric("tollgate_challenge_verifications_total", { result: "solved" })).toBe(1);
    expect(await g.metric("tollgate_challenge_verifications_total", { result: "wrong_nonce" })).toBe(1);
    expect(await g.metric("tollgate_challenge_verifications_total", { result: "replayed" })).toBe(1);
    expect(await g.metric("tollgate_challenge_solve_seconds_count")).toBe(1);
  });

  it("refuses an expired challenge with 410 and an expired or forged pass like no pass", async () => {
    const g = guarded();
    const peer = "203.0.113.9";
    const challenge = await challenged(g, peer);
    const nonce = solve(challenge.seed, challenge.difficulty);
    await g.clock.advance(121_000);
    expect((await refusal(g.guard.verify(g.anon(peer), { id: challenge.id, nonce }))).status).toBe(410);
    const fresh = await challenged(g, peer);
    const { pass } = await g.guard.verify(g.anon(peer), {
      id: fresh.id,
      nonce: solve(fresh.seed, fresh.difficulty),
    });
    const forged = `${pass.split(".")[0]}.AAAA`;
    expect((await refusal(g.guard.admit(g.anon(peer, forged)))).code).toBe("challenge_required");
    // An expired pass exempts nothing: flooding with it is challenged like flooding without one.
    await g.clock.advance(3_600_000);
    let challengedWithPass = false;
    for (let i = 0; i < 100 && !challengedWithPass; i++) {
      challengedWithPass = await g.guard.admit(g.anon(peer, pass)).then(
        async (a) => {
          await a.release();
          return false;
        },
        (e: GatewayError) => e.code === "challenge_required",
      );
    }
    expect(challengedWithPass).toBe(true);
  });

  it("hands a client that keeps knocking its outstanding challenge instead of minting one per request", async () => {
    const g = guarded();
    const first = await challenged(g, "192.0.2.50");
    const again = await challenged(g, "192.0.2.50");
    expect(again.id).toBe(first.id);
  });

  it("lets a pass holder through at a human pace but challenges it again when it floods", async () => {
    const load = { value: 1 };
    const g = guarded({}, load);
    const peer = "192.0.2.60";
    const challenge = await challenged(g, peer);
    const { pass } = await g.guard.verify(g.anon(peer), {
      id: challenge.id,
      nonce: solve(challenge.seed, challenge.difficulty),
    });
    // A minute later, under full load, a pass holder at one request per second is served.
    await g.clock.advance(60_000);
    for (let i = 0; i < 5; i++) {
      await (await g.guard.admit(g.anon(peer, pass))).release();
      await g.clock.advance(1_000);
    }
    // Flooding with the same pass: challenged again.
    let again: GatewayError | undefined;
    for (let i = 0; i < 200 && again === undefined; i++) {
      again = await g.guard.admit(g.anon(peer, pass)).then(
        async (a) => {
          await a.release();
          return undefined;
        },
        (e: GatewayError) => e,
      );
    }
    expect(again?.code).toBe("challenge_required");
    expect(
      await g.metric("tollgate_guard_requests_total", {
        decision: "challenged",
        reason: "flood_with_pass",
        tier: "anonymous",
      }),
    ).toBe(1);
  });

  it("raises difficulty with load and lowers it when the surge ends", async () => {
    const load = { value: 0 };
    const g = guarded({}, load);
    /** Sends n requests at once from one address; the difficulty of the last challenge (0 if none). */
    const difficultyAfter = async (peer: string, n: number) => {
      let difficulty = 0;
      for (let i = 0; i < n; i++) {
        await g.guard.admit(g.anon(peer)).then(
          (a) => a.release(),
          (e: GatewayError) => {
            difficulty = (e.details?.["challenge"] as Challenge | undefined)?.difficulty ?? 0;
          },
        );
      }
      return difficulty;
    };
    const quiet = await difficultyAfter("198.51.100.20", 40);
    load.value = 1;
    const loaded = await difficultyAfter("198.51.100.21", 40);
    expect(quiet).toBeGreaterThanOrEqual(4);
    expect(loaded).toBeGreaterThan(quiet);
    expect(await g.metric("tollgate_challenge_difficulty_bits")).toBe(loaded);
    // The surge ends: a minute later, at no load, the same client at a normal rate is served unchallenged.
    load.value = 0;
    await g.clock.advance(60_000);
    expect(await difficultyAfter("198.51.100.21", 1)).toBe(0);
  });
});

/**
 * Sends `perSecond` requests a second, evenly spaced on the fake clock, for `seconds`, releasing each at once;
 * counts the outcomes: "ok" or the refusal's code.
 */
async function drive(
  g: ReturnType<typeof guarded>,
  input: Parameters<Guard["admit"]>[0],
  o: { perSecond: number; seconds: number },
): Promise<Record<string, number>> {
  const outcomes: Record<string, number> = {};
  const gapMs = 1_000 / o.perSecond;
  for (let i = 0; i < o.perSecond * o.seconds; i++) {
    const outcome = await g.guard.admit(input).then(
      async (a) => {
        await a.release();
        return "ok";
      },
      (e: unknown) => (e instanceof GatewayError ? e.code : String(e)),
    );
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    await g.clock.advance(gapMs);
  }
  return outcomes;
}

describe("who is challenged", () => {
  const challengedCount = (g: ReturnType<typeof guarded>, tier: string) =>
    g.metric("tollgate_guard_requests_total", { decision: "challenged", reason: "risk", tier });

  it("a keyed client above the flood rate is not challenged (it scored 0.35 + 0.15 = 0.50 at 20 req/s)", async () => {
    const g = guarded();
    const outcomes = await drive(g, g.bulk, { perSecond: 30, seconds: 10 });
    expect(outcomes).toEqual({ ok: 300 });
    expect(await g.metric("tollgate_challenges_issued_total")).toBe(0);
  });

  it("by default a keyed client is never challenged: at any rate, in a surge at full load, with bad passes", async () => {
    const load = { value: 1 };
    const g = guarded({}, load);
    expect(await drive(g, g.bulk, { perSecond: 200, seconds: 10 })).toEqual({ ok: 2_000 });
    // Forged passes count as bad history for a challengeable client; a key is not scored at all.
    const forged = { ...g.bulk, pass: "eyJzdWIiOiJ4In0.AAAA" };
    expect(await drive(g, forged, { perSecond: 50, seconds: 2 })).toEqual({ ok: 100 });
    expect(await g.metric("tollgate_challenges_issued_total")).toBe(0);
  });

  it("a keyed client over its limits gets 429s, not 403s", async () => {
    const g = guarded({}, { value: 1 });
    const outcomes = await drive(g, g.keyed, { perSecond: 50, seconds: 4 });
    // 6 per minute: the burst of 6, then one every 10 s.
    expect(outcomes).toEqual({ ok: 6, rate_limit_exceeded: 194 });
    expect(await challengedCount(g, "pro")).toBe(0);
    expect(
      await g.metric("tollgate_guard_requests_total", {
        decision: "throttled",
        reason: "requests",
        tier: "pro",
      }),
    ).toBe(194);
  });

  it("a tenant that opts in (challenge: adaptive) is challenged when it floods, not at a normal rate", async () => {
    const load = { value: 1 };
    const g = guarded(
      {
        tenants: {
          acme: { tier: "pro", limits: { requestsPerMinute: 6 } },
          bulk: { tier: "bulk", limits: BULK, challenge: "adaptive" },
        },
      },
      load,
    );
    // Two a second at full load: 0.35 x 0.1 + 0.15 x 0.1 + 0.20 = 0.25, under the 0.5 threshold.
    expect(await drive(g, g.bulk, { perSecond: 2, seconds: 10 })).toEqual({ ok: 20 });
    load.value = 0;
    const flood = await drive(g, g.bulk, { perSecond: 30, seconds: 10 });
    expect(flood["challenge_required"]).toBeGreaterThan(0);
    expect(await challengedCount(g, "bulk")).toBe(flood["challenge_required"]);
    // The challenge is bound to the key, and so is the pass it earns.
    const challenge = await challenged(g, undefined, g.bulk);
    const { pass } = await g.guard.verify(g.bulk, {
      id: challenge.id,
      nonce: solve(challenge.seed, challenge.difficulty),
    });
    // (A pass does not excuse flooding: once the flood has aged out, it is accepted.)
    await g.clock.advance(60_000);
    await (await g.guard.admit({ ...g.bulk, pass })).release();
    expect(
      await g.metric("tollgate_guard_requests_total", { decision: "allowed", reason: "pass", tier: "bulk" }),
    ).toBe(1);
    // The other tenant, which did not opt in, is untouched.
    expect(await challengedCount(g, "pro")).toBe(0);
  });

  it("anonymous clients are challenged as before: when they flood, or at a human pace under full load", async () => {
    const load = { value: 0 };
    const g = guarded({}, load);
    // 0.30 + 0.35 x 0.05 + 0.15 x 0.05: well under the threshold.
    expect(await drive(g, g.anon("198.51.100.30"), { perSecond: 1, seconds: 10 })).toEqual({ ok: 10 });
    const flood = await drive(g, g.anon("198.51.100.31"), { perSecond: 30, seconds: 5 });
    expect(flood["challenge_required"]).toBeGreaterThan(0);
    // 0.30 + 0.20 at full queue pressure reaches 0.5 at any rate.
    load.value = 1;
    const loaded = await drive(g, g.anon("198.51.100.32"), { perSecond: 1, seconds: 3 });
    expect(loaded).toEqual({ challenge_required: 3 });
  });
});

function solveChecks(challenge: Challenge, nonce: string): boolean {
  const digest = createHash("sha256")
    .update(challenge.seed + nonce)
    .digest();
  let bits = 0;
  for (const byte of digest) {
    if (byte === 0) bits += 8;
    else {
      bits += Math.clz32(byte) - 24;
      break;
    }
  }
  return bits >= challenge.difficulty;
}
