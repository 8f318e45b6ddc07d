import { z } from "zod";
import { positiveInt } from "./fields.js";

export const storeSchema = z
  .object({
    url: z
      .url({ protocol: /^rediss?$/ })
      .optional()
      .meta({
        description:
          "`redis://` or `rediss://` URL of the shared store. REDIS_URL in the environment overrides it.",
        whenUnset: "in memory (one gateway process)",
      }),
    keyPrefix: z
      .string()
      .max(64)
      .default("tollgate:")
      .describe("Prepended to every Redis key, so several fleets can share one Redis."),
    maxBytes: positiveInt
      .default(64 * 1024 * 1024)
      .describe("Bound on the in-memory store (and the local fallback while Redis is unreachable)."),
    connectTimeoutMs: positiveInt
      .default(2_000)
      .describe(
        "Longest wait for a connection to Redis; start-up waits at most this long, then serves from local " +
          "memory while reconnecting in the background.",
      ),
    commandTimeoutMs: positiveInt
      .default(500)
      .describe(
        "A Redis call slower than this fails and is served locally instead, and Redis is marked down: later " +
          "calls go straight to local memory, so a hung Redis costs this once, not on every call.",
      ),
    probeIntervalMs: positiveInt
      .default(1_000)
      .describe(
        "While Redis is marked down, it is pinged this often (each ping bounded by commandTimeoutMs).",
      ),
  })
  .strict()
  .meta({
    title: "Store",
    description:
      "Where shared state lives (cache entries, rate limits, challenges): in memory by default; Redis when " +
      "`url` is set (or REDIS_URL at start-up), so a fleet of gateways shares it.",
  });

export type StoreConfig = z.infer<typeof storeSchema>;
