import type { Clock } from "../core/clock.js";
import { FallbackStore } from "./fallback-store.js";
import { MemoryStore } from "./memory-store.js";
import { REDIS_DEFAULTS, RedisStore } from "./redis-store.js";
import type { Store } from "./store.js";

export { FALLBACK_DEFAULTS, FallbackStore } from "./fallback-store.js";
export { MemoryStore } from "./memory-store.js";
export { REDIS_DEFAULTS, RedisStore } from "./redis-store.js";
export type { Hold, Store, StoreStats, TokenRequest, TokenResult } from "./store.js";

export interface CreateStoreOptions {
  /** Redis URL (`store.url` in config, or REDIS_URL read by the server entry); absent: memory only. */
  url?: string;
  keyPrefix: string;
  /** Bound on the memory store's values, which is also the local fallback beside Redis. */
  maxBytes: number;
  clock: Clock;
  onStateChange?: (connected: boolean) => void;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  /** While Redis is marked down, how often it is pinged to bring it back. */
  probeIntervalMs?: number;
}

/** A store and a way to wait for its first connection. */
export interface OpenedStore {
  store: Store;
  /**
   * Resolves once the first connection attempt settled (bounded by the connect timeout); never rejects. When
   * it failed, the outage has been reported through onStateChange and the store serves locally.
   */
  ready(): Promise<void>;
}

/**
 * Memory when no URL is given; otherwise Redis wrapped so an outage degrades to local serving. Synchronous, so
 * composition stays synchronous; the server awaits ready() before it listens. A gateway that starts while Redis
 * is down serves locally, reports it, and switches over once a probe finds Redis answering.
 */
export function openStore(options: CreateStoreOptions): OpenedStore {
  const local = new MemoryStore({ maxBytes: options.maxBytes, clock: options.clock });
  if (options.url === undefined || options.url === "")
    return { store: local, ready: () => Promise.resolve() };
  const redis = new RedisStore({
    url: options.url,
    keyPrefix: options.keyPrefix,
    connectTimeoutMs: options.connectTimeoutMs,
    commandTimeoutMs: options.commandTimeoutMs,
  });
  const store = new FallbackStore({
    primary: redis,
    local,
    probe: () => redis.ping(),
    // A ping slower than a command would be is no sign of health.
    probeTimeoutMs: options.commandTimeoutMs ?? REDIS_DEFAULTS.commandTimeoutMs,
    probeIntervalMs: options.probeIntervalMs,
    onStateChange: options.onStateChange,
  });
  return {
    store,
    ready: async () => {
      if (!(await redis.ready())) {
        // Report the outage now instead of at the first request; get() of a probe key takes the fallback path.
        await store.get("tollgate:probe");
      }
    },
  };
}

/** openStore, waiting for the first connection attempt. */
export async function createStore(options: CreateStoreOptions): Promise<Store> {
  const opened = openStore(options);
  await opened.ready();
  return opened.store;
}
