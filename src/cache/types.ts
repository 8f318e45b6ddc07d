import type { GatewayEvent } from "../core/types.js";

/** Types shared by the cache stage and its callers. */

/** How one model's answers are cached (the top-level `cache` values with the model's own on top). */
export interface ModelCachePolicy {
  mode: "deterministic" | "all" | "off";
  ttlMs: number;
  replay: "instant" | "original";
  semantic?: {
    threshold: number;
    maxEntries: number;
    /** Longer prompts skip the semantic index (default DEFAULT_SEMANTIC_MAX_TEXT_CHARS). */
    maxTextChars?: number;
  };
}

/**
 * The semantic cache is for short questions asked in other words: embedding costs about 0.3 µs a character
 * (280 ms for a 1 MiB prompt, on the event loop, twice: look-up and store), and a lexical similarity of long
 * texts says little. 4,096 characters (about 1,000 tokens) take about 1 ms.
 */
export const DEFAULT_SEMANTIC_MAX_TEXT_CHARS = 4096;

export type CacheStatus = "HIT" | "MISS" | "BYPASS";
export type CacheKind = "exact" | "semantic" | "coalesced";

/** What the cache stage decided, known before the first event (so it can go out in response headers). */
export interface CacheOutcome {
  status: CacheStatus;
  /** For hits: which cache answered. */
  kind?: CacheKind;
  /** For hits: seconds since the stored answer was generated. */
  ageSeconds?: number;
  /** For semantic hits: cosine similarity of the prompts. */
  similarity?: number;
}

export interface OpenedGeneration extends CacheOutcome {
  events: AsyncIterable<GatewayEvent>;
}
