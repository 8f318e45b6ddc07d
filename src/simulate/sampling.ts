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
  const words = new Array<string>(tokens);
  for (let i = 0; i < tokens; i++) {
    words[i] = ONE_TOKEN_WORDS[Math.floor(random.next() * ONE_TOKEN_WORDS.length)]!;
  }
  return tokens === 0 ? "" : ` ${words.join(" ")}`;
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
