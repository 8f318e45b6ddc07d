import * as cl100k from "gpt-tokenizer/encoding/cl100k_base";
import type { Random, SeededRandom } from "../core/random.js";
import { ONE_TOKEN_WORDS } from "./words.js";

/**
 * Sampling primitives shared by the simulator's workloads and the bench's (bench/lib/workload.ts): lengths,
 * weighted choices and text of an exact token count.
 */

/** Log-normal with the given median and sigma (of the underlying normal), clamped to [min, max], rounded. */
export interface LengthDistribution {
  median: number;
  sigma: number;
  min: number;
  max: number;
}

export function drawLength(random: SeededRandom, d: LengthDistribution): number {
  return Math.min(d.max, Math.max(d.min, Math.round(random.logNormal(d.median, d.sigma))));
}

/** `tokens` one-token words, each with its leading space: exactly `tokens` cl100k tokens (see words.ts). */
export function wordText(random: Random, tokens: number): string {
  return wordPrompt(random, tokens, false).text;
}

/** Text of exactly `tokens` cl100k tokens and, when `withIds`, their token ids (so nothing re-tokenizes it). */
export interface WordPrompt {
  text: string;
  ids: number[];
}

/** As {@link wordText} (the same draws give the same text), with the text's cl100k token ids. */
export function wordPrompt(random: Random, tokens: number, withIds = true): WordPrompt {
  const ids = withIds ? new Array<number>(tokens) : [];
  const table = withIds ? wordIds() : [];
  const spaced = spacedWords();
  // One join makes one flat string; appending would leave a rope of a cons cell per word for the collector.
  const words = new Array<string>(tokens);
  for (let i = 0; i < tokens; i++) {
    const pick = Math.floor(random.next() * ONE_TOKEN_WORDS.length);
    words[i] = spaced[pick]!;
    if (withIds) ids[i] = table[pick]!;
  }
  return { text: words.join(""), ids };
}

let SPACED_WORDS: readonly string[] | undefined;

function spacedWords(): readonly string[] {
  SPACED_WORDS ??= ONE_TOKEN_WORDS.map((word) => ` ${word}`);
  return SPACED_WORDS;
}

let WORD_IDS: readonly number[] | undefined;

/** The cl100k id of each ONE_TOKEN_WORDS entry with its leading space (encoded once, on first use). */
function wordIds(): readonly number[] {
  WORD_IDS ??= ONE_TOKEN_WORDS.map((word) => {
    const ids = cl100k.encode(` ${word}`);
    if (ids.length !== 1) throw new Error(`ONE_TOKEN_WORDS: " ${word}" is ${ids.length} tokens`);
    return ids[0]!;
  });
  return WORD_IDS;
}

export interface WeightedTable {
  names: string[];
  /** Cumulative weights normalised to end at 1. */
  cumulative: number[];
}

/** A table for pickWeighted; undefined when no weight is positive. */
export function weightedTable(weights: Readonly<Record<string, number>>): WeightedTable | undefined {
  const entries = Object.entries(weights).filter(([, w]) => w > 0);
  if (entries.length === 0) return undefined;
  const total = entries.reduce((sum, [, w]) => sum + w, 0);
  let running = 0;
  return {
    names: entries.map(([name]) => name),
    cumulative: entries.map(([, w]) => {
      running += w / total;
      return running;
    }),
  };
}

/** The name whose cumulative weight first exceeds `u` (a uniform draw in [0, 1)). */
export function pickWeighted(table: WeightedTable, u: number): string {
  const index = table.cumulative.findIndex((c) => u < c);
  // Rounding can leave the last cumulative weight a hair below 1.
  return table.names[index === -1 ? table.names.length - 1 : index]!;
}
