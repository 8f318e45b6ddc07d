import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ApiKeys, bearerToken, ClientAddress } from "../../src/guard/identity.js";
import { formatDuration } from "../../src/guard/limiter.js";
import { PassSigner } from "../../src/guard/pass.js";
import { checkNonce, leadingZeroBits, solve } from "../../src/guard/pow.js";
import { difficultyFor, riskScore } from "../../src/guard/risk.js";

describe("proof of work", () => {
  it("counts leading zero bits", () => {
    expect(leadingZeroBits(Uint8Array.from([0x80]))).toBe(0);
    expect(leadingZeroBits(Uint8Array.from([0x00, 0x01]))).toBe(15);
    expect(leadingZeroBits(Uint8Array.from([0x00, 0x00, 0x10]))).toBe(19);
    expect(leadingZeroBits(Uint8Array.from([0, 0]))).toBe(16);
  });

  it("solves and checks the puzzle: SHA-256(seed + nonce) with enough leading zero bits", () => {
    const nonce = solve("abc", 12);
    const digest = createHash("sha256").update(`abc${nonce}`).digest();
    expect(leadingZeroBits(digest)).toBeGreaterThanOrEqual(12);
    expect(checkNonce("abc", nonce, 12)).toBe(true);
    expect(checkNonce("abd", nonce, 12) && checkNonce("abe", nonce, 12) && checkNonce("abf", nonce, 12)).toBe(
      false,
    );
  });

  it("accepts only plain decimal integers as nonces", () => {
    for (const bad of ["", "-1", "01", "1.0", " 1", "1e3", "0x10", "123456789012345678901"]) {
      expect(checkNonce("s", bad, 0)).toBe(false);
    }
    expect(checkNonce("s", "0", 0)).toBe(true);
  });
});

describe("passes", () => {
  const signer = new PassSigner("a-secret-of-at-least-thirty-two-characters");

  it("round-trips for the client it was issued to until it expires", () => {
    const pass = signer.sign("ip:1.2.3.4", 1_000);
    expect(signer.check(pass, "ip:1.2.3.4", 999)).toEqual({ ok: true, expiresAt: 1_000 });
    expect(signer.check(pass, "ip:1.2.3.4", 1_000)).toEqual({ ok: false, reason: "expired" });
    expect(signer.check(pass, "ip:5.6.7.8", 999)).toEqual({ ok: false, reason: "wrong_client" });
  });

  it("refuses forged and malformed passes", () => {
    const pass = signer.sign("ip:1.2.3.4", 1_000);
    const [payload, mac] = pass.split(".");
    const otherPayload = Buffer.from(JSON.stringify({ sub: "ip:1.2.3.4", exp: 9_999 })).toString("base64url");
    expect(signer.check(`${otherPayload}.${mac}`, "ip:1.2.3.4", 0).ok).toBe(false);
    expect(new PassSigner("another-secret-of-thirty-two-characters!!").check(pass, "ip:1.2.3.4", 0)).toEqual({
      ok: false,
      reason: "forged",
    });
    expect(signer.check(`${payload}`, "ip:1.2.3.4", 0)).toEqual({ ok: false, reason: "malformed" });
    expect(signer.check(`${payload}.${mac}.x`, "ip:1.2.3.4", 0)).toEqual({ ok: false, reason: "malformed" });
  });
});

describe("identity", () => {
  it("finds keys by their SHA-256 digest only", () => {
    const sha256 = createHash("sha256").update("secret-key").digest("hex");
    const keys = new ApiKeys([{ name: "k", sha256, tenant: "t", limits: {} }]);
    expect(keys.find("secret-key")?.name).toBe("k");
    expect(keys.find("secret-kez")).toBeUndefined();
    expect(keys.find(sha256)).toBeUndefined();
    expect(bearerToken("Bearer abc")).toBe("abc");
    expect(bearerToken("bearer   abc ")).toBe("abc");
    expect(bearerToken("Basic abc")).toBeUndefined();
  });

  it("believes X-Forwarded-For only from trusted proxies, taking the right-most untrusted hop", () => {
    const none = new ClientAddress([]);
    expect(none.resolve("10.0.0.5", "6.6.6.6")).toBe("10.0.0.5");
    const proxies = new ClientAddress(["10.0.0.0/8", "::1"]);
    expect(proxies.resolve("10.0.0.5", "6.6.6.6, 1.2.3.4")).toBe("1.2.3.4");
    expect(proxies.resolve("10.0.0.5", "1.2.3.4, 10.9.9.9")).toBe("1.2.3.4");
    expect(proxies.resolve("::ffff:10.0.0.5", "1.2.3.4")).toBe("1.2.3.4");
    expect(proxies.resolve("8.8.8.8", "1.2.3.4")).toBe("8.8.8.8");
    expect(proxies.resolve("::1", "garbage")).toBe("::1");
  });
});

describe("risk and difficulty", () => {
  const base = { ratePerSecond: 0.5, lastSecond: 1, floodRatePerSecond: 20, load: 0, failures: 0 };
  it("never challenges a keyed client at a normal rate, even under load", () => {
    expect(riskScore({ ...base, anonymous: false, load: 1 })).toBeLessThan(0.5);
  });

  it("challenges an anonymous flood, and an active anonymous client while the gateway is loaded", () => {
    expect(riskScore({ ...base, anonymous: true })).toBeLessThan(0.5);
    expect(riskScore({ ...base, anonymous: true, ratePerSecond: 10, lastSecond: 30 })).toBeGreaterThanOrEqual(
      0.5,
    );
    expect(riskScore({ ...base, anonymous: true, load: 1 })).toBeGreaterThanOrEqual(0.5);
    expect(riskScore({ ...base, anonymous: true, failures: 3 })).toBeGreaterThanOrEqual(0.5);
  });

  it("asks more work as risk rises, from the minimum at the threshold to the maximum at 1", () => {
    const settings = { threshold: 0.5, minDifficulty: 14, maxDifficulty: 22 };
    expect(difficultyFor(0.5, settings)).toBe(14);
    expect(difficultyFor(0.75, settings)).toBe(18);
    expect(difficultyFor(1, settings)).toBe(22);
  });
});

describe("formatDuration", () => {
  it("writes durations the way OpenAI's reset headers do", () => {
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(1_500)).toBe("1.5s");
    expect(formatDuration(360_000)).toBe("6m0s");
    expect(formatDuration(3_723_000)).toBe("1h2m3s");
  });
});
