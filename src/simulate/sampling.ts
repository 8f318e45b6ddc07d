import * as cl100k from "gpt-tokenizer/encoding/cl100k_base";
import { LRUCache } from "lru-cache";
import { hashString, type Random, SeededRandom } from "../core/random.js";
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

/** The text of `ids`, each the id of a ONE_TOKEN_WORDS entry (as wordPrompt made them): the inverse of its ids. */
export function idsPrompt(ids: ArrayLike<number>): WordPrompt {
  const words = wordsById();
  const out = new Array<number>(ids.length);
  const text = new Array<string>(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const word = words.get(ids[i]!);
    if (word === undefined) throw new RangeError(`token id ${ids[i]} is not one of ONE_TOKEN_WORDS`);
    out[i] = ids[i]!;
    text[i] = word;
  }
  return { text: text.join(""), ids: out };
}

/**
 * The words of named prefixes (a trace line's `prefix_id`, the synthetic workload's "shared-N"): the first
 * `tokens` words of the prefix named `id` are the same for every workload, seed and run, and a shorter prefix
 * of one id is the start of a longer one. The last few are kept, since requests sharing a prefix tend to come
 * together (a bounded LRU, not one entry per id).
 */
export class NamedPrefixes {
  readonly #recent = new LRUCache<string, WordPrompt>({ max: 256 });

  of(id: string, tokens: number): WordPrompt {
    const key = `${tokens}:${id}`;
    let prefix = this.#recent.get(key);
    if (prefix === undefined) {
      prefix = wordPrompt(new SeededRandom(hashString(id, hashString("prefix"))), tokens);
      this.#recent.set(key, prefix);
    }
    return prefix;
  }
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

let WORDS_BY_ID: ReadonlyMap<number, string> | undefined;

function wordsById(): ReadonlyMap<number, string> {
  if (WORDS_BY_ID === undefined) {
    const ids = wordIds();
    const spaced = spacedWords();
    WORDS_BY_ID = new Map(ids.map((id, i) => [id, spaced[i]!]));
  }
  return WORDS_BY_ID;
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

/**
 * Collects what is wrong with a workload spec, field by field, so every problem is reported at once. Shared by
 * the simulator's generator (workload.ts) and the bench's (bench/lib/workload.ts), which check the same fields.
 */
export class SpecProblems {
  readonly #problems: string[] = [];

  check(ok: boolean, field: string, rule: string, value: unknown): void {
    if (!ok) this.#problems.push(`${field} ${rule}, got ${JSON.stringify(value)}`);
  }

  /** A share in [0, 1]. */
  fraction(field: string, value: number): void {
    this.check(Number.isFinite(value) && value >= 0 && value <= 1, field, "must be in [0, 1]", value);
  }

  positive(field: string, value: number): void {
    this.check(Number.isFinite(value) && value > 0, field, "must be > 0", value);
  }

  lengths(field: string, d: LengthDistribution): void {
    this.positive(`${field}.median`, d.median);
    this.check(Number.isFinite(d.sigma) && d.sigma >= 0, `${field}.sigma`, "must be >= 0", d.sigma);
    this.check(Number.isInteger(d.min) && d.min >= 1, `${field}.min`, "must be an integer >= 1", d.min);
    this.check(Number.isInteger(d.max) && d.max >= d.min, `${field}.max`, "must be an integer >= min", d.max);
  }

  /** `ratio` of requests begin with one of `prefixes` shared prefixes of `tokens` tokens. */
  sharedPrefix(prefix: { ratio: number; prefixes: number; tokens: number }): void {
    const { ratio, prefixes, tokens } = prefix;
    this.fraction("sharedPrefix.ratio", ratio);
    this.check(
      Number.isInteger(prefixes) && prefixes >= (ratio > 0 ? 1 : 0),
      "sharedPrefix.prefixes",
      ratio > 0 ? "must be an integer >= 1 when sharedPrefix.ratio > 0" : "must be an integer >= 0",
      prefixes,
    );
    this.check(
      Number.isInteger(tokens) && tokens >= 1,
      "sharedPrefix.tokens",
      "must be an integer >= 1",
      tokens,
    );
  }

  classWeights(mix: Readonly<Record<string, number>>): void {
    for (const [name, weight] of Object.entries(mix)) {
      this.check(
        Number.isFinite(weight) && weight >= 0,
        `sloClassMix.${name}`,
        "must be a weight >= 0",
        weight,
      );
    }
  }

  temperature(value: number): void {
    this.check(Number.isFinite(value) && value >= 0, "temperature", "must be >= 0", value);
  }

  /** Throws a RangeError listing every problem (`what: a; b`), if there is any. */
  throwIfAny(what: string): void {
    if (this.#problems.length > 0) throw new RangeError(`${what}: ${this.#problems.join("; ")}`);
  }
}
