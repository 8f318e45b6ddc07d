import { z } from "zod";
import { positiveInt } from "./fields.js";

const cacheModes = ["deterministic", "all", "off"] as const;
const replayModes = ["instant", "original"] as const;

export const cacheSchema = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe("The response cache and coalescing; false makes every request a BYPASS."),
    mode: z
      .enum(cacheModes)
      .default("deterministic")
      .describe(
        "What may be cached: `deterministic` (temperature 0 or a seed: the same request gives the same " +
          "answer), `all` (every request, for models whose callers accept a stored answer) or `off`.",
      ),
    ttlSeconds: positiveInt.default(3_600).describe("How long an answer is served from the cache."),
    replay: z
      .enum(replayModes)
      .default("instant")
      .describe("`instant` replays a stored stream at once; `original` keeps its recorded inter-token gaps."),
    coalesce: z
      .boolean()
      .default(true)
      .describe("Identical requests in flight at once share one generation."),
    maxEntryBytes: positiveInt
      .default(1024 * 1024)
      .describe("Answers whose stored form is larger than this are not cached."),
  })
  .strict()
  .meta({
    title: "Cache",
    description:
      'The response cache and single-flight coalescing (README: "Caching"); models override mode, TTL, replay.',
  });

export const modelCacheSchema = z
  .object({
    mode: z
      .enum(cacheModes)
      .optional()
      .meta({ description: "What may be cached (see cache.mode).", whenUnset: "cache.mode" }),
    ttlSeconds: positiveInt
      .optional()
      .meta({ description: "How long an answer is served from the cache.", whenUnset: "cache.ttlSeconds" }),
    replay: z.enum(replayModes).optional().meta({
      description:
        "`instant` replays a stored stream at once; `original` keeps its recorded inter-token gaps.",
      whenUnset: "cache.replay",
    }),
    semantic: z
      .object({
        enabled: z.boolean().default(false).describe("Turn the semantic cache on for this model."),
        threshold: z
          .number()
          .gt(0)
          .max(1)
          .default(0.95)
          .describe(
            "Cosine similarity of hashed character n-gram vectors at or above which a stored answer is served.",
          ),
        maxEntries: positiveInt
          .max(1_000_000)
          .default(10_000)
          .describe(
            "Prompts remembered for similarity search (per gateway process), least recently used evicted first.",
          ),
        maxTextChars: positiveInt
          .max(1_048_576)
          .default(4096)
          .describe(
            "A prompt (its last message) longer than this skips the semantic index, both look-up and store: " +
              'an embedding costs about 0.3 µs a character on the event loop (docs/reliability.md: "Hostile input").',
          ),
      })
      .strict()
      .optional()
      .meta({
        description:
          'Opt-in: serve a stored answer to a prompt that is similar, not identical (README: "Semantic cache").',
        whenUnset: "off",
      }),
  })
  .strict()
  .meta({
    title: "Model cache",
    description: "Response-cache settings of one model; fields left out take the top-level `cache` values.",
  });

export type CacheConfig = z.infer<typeof cacheSchema>;
export type ModelCacheConfig = z.infer<typeof modelCacheSchema>;
