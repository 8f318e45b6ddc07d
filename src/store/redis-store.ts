import { Redis } from "ioredis";
import {
  bucketTtlMs,
  checkIncrement,
  checkTokenRequest,
  checkTtl,
  type Hold,
  type Store,
  type StoreStats,
  type TokenRequest,
  type TokenResult,
} from "./store.js";

export interface RedisStoreOptions {
  url: string;
  /** Prepended to every key (ioredis `keyPrefix`, applied to script KEYS too). */
  keyPrefix: string;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  /** Upper bound on the delay between reconnect attempts. */
  maxReconnectDelayMs?: number;
}

export const REDIS_DEFAULTS = {
  connectTimeoutMs: 2_000,
  // Cache reads sit on the request path; a slower answer is worth less than a local miss.
  commandTimeoutMs: 500,
  maxReconnectDelayMs: 2_000,
} as const;

/** Creates the counter with its expiry on first use; later increments keep that expiry. */
const INCREMENT_LUA = `
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v`;

/** Same arithmetic as takeFromBucket in store.ts. ARGV: capacity, rate, cost, nowMs, ttlMs, force (0|1). */
const TAKE_TOKENS_LUA = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 't', 'u')
local tokens = capacity
local updated = now
if state[1] then
  tokens = tonumber(state[1])
  updated = tonumber(state[2])
end
tokens = math.min(capacity, tokens + math.max(0, now - updated) * rate / 1000)
local allowed = 0
local retry = 0
if ARGV[6] == '1' or tokens >= cost then
  tokens = math.max(-capacity, tokens - cost)
  allowed = 1
else
  retry = math.ceil((cost - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'u', string.format('%.17g', math.max(now, updated)))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {allowed, math.max(0, math.floor(tokens)), retry}`;

/** The scripts registered with defineCommand (EVALSHA, falling back to EVAL once per connection). */
interface ScriptCommands {
  tollgateIncrement(key: string, by: number, ttlMs: number): Promise<number>;
  tollgateTakeTokens(key: string, ...args: number[]): Promise<[number, number, number]>;
}

/** ioredis rejects a command that got no answer within commandTimeout with this message (Command.setTimeout). */
const COMMAND_TIMED_OUT = "Command timed out";

/**
 * Redis through ioredis. Every call is bounded: with the offline queue off, a call made while disconnected
 * rejects at once; commandTimeout bounds a call on a connection that stopped answering (a hung Redis keeps its
 * sockets open, so nothing else notices); maxRetriesPerRequest 0 fails the calls in flight when a connection
 * drops instead of resending them after a reconnect, seconds later. The client keeps reconnecting with a capped
 * backoff. Wrap it in FallbackStore to keep serving while it is down.
 */
export class RedisStore implements Store {
  readonly kind = "redis";
  readonly #client: Redis;
  readonly #scripts: ScriptCommands;
  readonly #connectTimeoutMs: number;
  #errors = 0;
  #closed = false;

  constructor(options: RedisStoreOptions) {
    this.#connectTimeoutMs = options.connectTimeoutMs ?? REDIS_DEFAULTS.connectTimeoutMs;
    const maxDelay = options.maxReconnectDelayMs ?? REDIS_DEFAULTS.maxReconnectDelayMs;
    this.#client = new Redis(options.url, {
      keyPrefix: options.keyPrefix,
      connectTimeout: this.#connectTimeoutMs,
      commandTimeout: options.commandTimeoutMs ?? REDIS_DEFAULTS.commandTimeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // Exponential from 50 ms, capped; never gives up, so the store heals without a restart.
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times - 1, 16), maxDelay),
    });
    // Connection errors surface as failed calls (counted there); without a listener ioredis prints them.
    this.#client.on("error", () => {});
    this.#client.defineCommand("tollgateIncrement", { numberOfKeys: 1, lua: INCREMENT_LUA });
    this.#client.defineCommand("tollgateTakeTokens", { numberOfKeys: 1, lua: TAKE_TOKENS_LUA });
    this.#scripts = this.#client as unknown as ScriptCommands;
  }

  /**
   * Resolves true once connected, or false when the first attempt fails or the connect timeout passes;
   * never rejects. Reconnecting carries on in the background either way.
   */
  ready(timeoutMs = this.#connectTimeoutMs): Promise<boolean> {
    if (this.#client.status === "ready") return Promise.resolve(true);
    return new Promise((resolve) => {
      const settle = (connected: boolean) => {
        clearTimeout(timer);
        this.#client.off("ready", onReady);
        this.#client.off("error", onError);
        resolve(connected);
      };
      const onReady = () => settle(true);
      const onError = () => settle(false);
      const timer = setTimeout(() => settle(false), timeoutMs);
      this.#client.once("ready", onReady);
      this.#client.once("error", onError);
    });
  }

  async get(key: string): Promise<Buffer | undefined> {
    return this.#call(async () => (await this.#client.getBuffer(key)) ?? undefined);
  }

  async set(key: string, value: Buffer, options: { ttlMs: number }): Promise<void> {
    const ttl = checkTtl(options.ttlMs);
    return this.#call(async () => {
      await this.#client.set(key, value, "PX", ttl);
    });
  }

  async setIfAbsent(key: string, value: Buffer, options: { ttlMs: number }): Promise<boolean> {
    const ttl = checkTtl(options.ttlMs);
    return this.#call(async () => (await this.#client.set(key, value, "PX", ttl, "NX")) === "OK");
  }

  async delete(key: string): Promise<void> {
    return this.#call(async () => {
      await this.#client.del(key);
    });
  }

  async increment(key: string, by: number, options: { ttlMs: number }): Promise<number> {
    checkIncrement(by);
    const ttl = checkTtl(options.ttlMs);
    return this.#call(() => this.#scripts.tollgateIncrement(key, by, ttl));
  }

  async hold(key: string, options: { ttlMs: number }): Promise<Hold> {
    const ttl = { ttlMs: checkTtl(options.ttlMs) };
    let count: number;
    try {
      count = await this.increment(key, 1, ttl);
    } catch (error) {
      // A timed-out increment was written and may still run: a paused Redis works through its backlog when it
      // resumes. The decrement, written now behind it on the same connection, runs exactly when it does.
      if (error instanceof Error && error.message === COMMAND_TIMED_OUT) {
        void this.increment(key, -1, ttl).catch(() => {});
      }
      throw error;
    }
    let released = false;
    return {
      count,
      release: async () => {
        if (released) return;
        released = true;
        await this.increment(key, -1, ttl);
      },
    };
  }

  async takeTokens(key: string, request: TokenRequest): Promise<TokenResult> {
    checkTokenRequest(request);
    const { capacity, ratePerSec, cost, nowMs } = request;
    return this.#call(async () => {
      const [allowed, remaining, retryAfterMs] = await this.#scripts.tollgateTakeTokens(
        key,
        capacity,
        ratePerSec,
        cost,
        nowMs,
        bucketTtlMs(request),
        request.force === true ? 1 : 0,
      );
      return { allowed: allowed === 1, remaining, retryAfterMs };
    });
  }

  /** PING, bounded like any call (commandTimeout; at once while disconnected): the fallback store's probe. */
  async ping(): Promise<void> {
    await this.#client.ping();
  }

  stats(): StoreStats {
    return { errors: this.#errors, connected: this.#client.status === "ready" };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#client.status === "ready") {
      try {
        await this.#client.quit();
        return;
      } catch {
        // Fall through: drop the socket instead.
      }
    }
    this.#client.disconnect();
  }

  async #call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      this.#errors++;
      throw error;
    }
  }
}
