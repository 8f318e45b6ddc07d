import { createHash } from "node:crypto";

/**
 * The proof-of-work puzzle (README: "Challenge protocol"): find a decimal integer `nonce` such that
 * SHA-256 of the UTF-8 string `seed + nonce` has at least `difficulty` leading zero bits. Checking costs the
 * server one hash; finding takes the client about 2^difficulty hashes.
 */

/** A nonce as the protocol accepts it: a decimal integer of 1 to 20 digits, no sign, no leading zeros. */
const NONCE = /^(0|[1-9][0-9]{0,19})$/;

export function leadingZeroBits(digest: Uint8Array): number {
  let bits = 0;
  for (const byte of digest) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

/** True when `nonce` is well-formed and solves the puzzle. One SHA-256. */
export function checkNonce(seed: string, nonce: string, difficulty: number): boolean {
  if (!NONCE.test(nonce)) return false;
  return (
    leadingZeroBits(
      createHash("sha256")
        .update(seed + nonce, "utf8")
        .digest(),
    ) >= difficulty
  );
}

/**
 * Finds a nonce (counting up from 0): what a client does, shipped for load tests that act as legitimate
 * clients. Throws after `maxTries` hashes so a mistaken difficulty cannot spin forever.
 */
export function solve(
  seed: string,
  difficulty: number,
  maxTries = 2 ** Math.min(40, difficulty + 8),
): string {
  for (let nonce = 0; nonce < maxTries; nonce++) {
    const candidate = String(nonce);
    if (
      leadingZeroBits(
        createHash("sha256")
          .update(seed + candidate, "utf8")
          .digest(),
      ) >= difficulty
    ) {
      return candidate;
    }
  }
  throw new Error(`no nonce with ${difficulty} leading zero bits found in ${maxTries} tries`);
}
