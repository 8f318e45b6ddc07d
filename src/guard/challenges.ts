import { randomBytes, randomUUID } from "node:crypto";
import type { Clock } from "../core/clock.js";
import { GatewayError } from "../core/errors.js";
import type { Store } from "../store/store.js";
import type { PassSigner } from "./pass.js";
import { checkNonce } from "./pow.js";

/** The puzzle as a challenged client receives it (inside the 403 error object). */
export interface Challenge {
  id: string;
  seed: string;
  algorithm: "sha256";
  difficulty: number;
  /** Epoch seconds. */
  expires_at: number;
}

interface Stored {
  seed: string;
  difficulty: number;
  subject: string;
  expiresAt: number;
}

/**
 * Issues and verifies proof-of-work challenges. Challenge state lives in the Store under `ch:<id>` (bounded:
 * the memory store by bytes, Redis by TTL; shared by a fleet), kept for twice its lifetime so an expired
 * challenge is told apart from an unknown one. A solved challenge is consumed with set-if-absent, so a replay
 * is refused even when two submissions race. Verifying costs one hash.
 */
export class Challenges {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #passes: PassSigner;
  readonly #ttlSeconds: number;
  readonly #passTtlSeconds: number;

  constructor(options: {
    store: Store;
    clock: Clock;
    passes: PassSigner;
    ttlSeconds: number;
    passTtlSeconds: number;
  }) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#passes = options.passes;
    this.#ttlSeconds = options.ttlSeconds;
    this.#passTtlSeconds = options.passTtlSeconds;
  }

  /**
   * A challenge for `subject`: its outstanding one when that is still fresh and at least as hard, so a client
   * that keeps knocking does not mint (and store) a new challenge per request; a new one otherwise.
   */
  async issue(subject: string, difficulty: number): Promise<Challenge> {
    const nowSeconds = Math.floor(this.#clock.epochMs() / 1000);
    const outstanding = await this.#store.get(`chfor:${subject}`);
    if (outstanding !== undefined) {
      const previous = JSON.parse(outstanding.toString("utf8")) as Challenge;
      // Keep at least half its lifetime for the client to solve it in.
      if (previous.difficulty >= difficulty && previous.expires_at - nowSeconds >= this.#ttlSeconds / 2)
        return previous;
    }
    const issued = await this.#mint(subject, difficulty);
    await this.#store.set(`chfor:${subject}`, Buffer.from(JSON.stringify(issued)), {
      ttlMs: this.#ttlSeconds * 1000,
    });
    return issued;
  }

  async #mint(subject: string, difficulty: number): Promise<Challenge> {
    const id = randomUUID();
    const seed = randomBytes(16).toString("hex");
    const expiresAt = Math.floor(this.#clock.epochMs() / 1000) + this.#ttlSeconds;
    const stored: Stored = { seed, difficulty, subject, expiresAt };
    await this.#store.set(`ch:${id}`, Buffer.from(JSON.stringify(stored)), {
      ttlMs: 2 * this.#ttlSeconds * 1000,
    });
    return { id, seed, algorithm: "sha256", difficulty, expires_at: expiresAt };
  }

  /**
   * Checks a submission from `subject`; returns a pass bound to it, or throws: 404 unknown id, 410 expired,
   * 403 issued to another client, 400 wrong nonce, 409 already used.
   */
  async verify(
    subject: string,
    id: string,
    nonce: string,
  ): Promise<{ pass: string; expires_at: number; difficulty: number }> {
    const raw = await this.#store.get(`ch:${id}`);
    if (raw === undefined) {
      throw new GatewayError(
        "challenge_not_found",
        `No challenge with id '${id}' (it may be older than twice its lifetime).`,
        { param: "id" },
      );
    }
    const stored = JSON.parse(raw.toString("utf8")) as Stored;
    const now = Math.floor(this.#clock.epochMs() / 1000);
    if (stored.expiresAt <= now) {
      throw new GatewayError("challenge_expired", "The challenge has expired; request a new one.", {
        param: "id",
      });
    }
    if (stored.subject !== subject) {
      throw new GatewayError("challenge_wrong_client", "The challenge was issued to another client.", {
        param: "id",
      });
    }
    if (!checkNonce(stored.seed, nonce, stored.difficulty)) {
      throw new GatewayError(
        "challenge_failed",
        `The nonce does not solve the challenge: SHA-256(seed + nonce) needs ${stored.difficulty} leading zero bits, and nonce must be a decimal integer.`,
        { param: "nonce" },
      );
    }
    const first = await this.#store.setIfAbsent(`chused:${id}`, Buffer.from("1"), {
      ttlMs: 2 * this.#ttlSeconds * 1000,
    });
    if (!first)
      throw new GatewayError("challenge_already_used", "The challenge was already solved.", { param: "id" });
    const expiresAt = now + this.#passTtlSeconds;
    return {
      pass: this.#passes.sign(subject, expiresAt),
      expires_at: expiresAt,
      difficulty: stored.difficulty,
    };
  }
}
