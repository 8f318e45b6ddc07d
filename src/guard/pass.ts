import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * A pass proves a client solved a challenge: `base64url(JSON {sub, exp}) + "." + base64url(HMAC-SHA256)`.
 * `sub` is the client's identity (bound: a pass taken to another client is refused); `exp` is epoch seconds.
 * Stateless, so any gateway of a fleet that shares the secret accepts it.
 */
export type PassCheck =
  | { ok: true; expiresAt: number }
  | { ok: false; reason: "malformed" | "forged" | "expired" | "wrong_client" };

export class PassSigner {
  readonly #secret: Buffer;

  constructor(secret: string | Buffer) {
    this.#secret = Buffer.isBuffer(secret) ? secret : Buffer.from(secret, "utf8");
  }

  sign(subject: string, expiresAtSeconds: number): string {
    const payload = Buffer.from(JSON.stringify({ sub: subject, exp: expiresAtSeconds })).toString(
      "base64url",
    );
    return `${payload}.${this.#mac(payload).toString("base64url")}`;
  }

  check(pass: string, subject: string, nowSeconds: number): PassCheck {
    const dot = pass.indexOf(".");
    if (dot <= 0 || dot !== pass.lastIndexOf(".") || pass.length > 1024)
      return { ok: false, reason: "malformed" };
    const payload = pass.slice(0, dot);
    const given = Buffer.from(pass.slice(dot + 1), "base64url");
    const expected = this.#mac(payload);
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return { ok: false, reason: "forged" };
    let claims: { sub?: unknown; exp?: unknown };
    try {
      claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as typeof claims;
    } catch {
      return { ok: false, reason: "malformed" };
    }
    if (typeof claims.exp !== "number" || typeof claims.sub !== "string")
      return { ok: false, reason: "malformed" };
    if (claims.exp <= nowSeconds) return { ok: false, reason: "expired" };
    if (claims.sub !== subject) return { ok: false, reason: "wrong_client" };
    return { ok: true, expiresAt: claims.exp };
  }

  #mac(payload: string): Buffer {
    return createHmac("sha256", this.#secret).update(payload).digest();
  }
}
