import * as cl100k from "gpt-tokenizer/encoding/cl100k_base";
import { hashString, type SeededRandom } from "../../core/random.js";
import type { GenerationRequest } from "../../core/types.js";
import type { OutputSettings } from "./types.js";

/**
 * Deterministic pseudo-English for the simulated model. Every piece the generator emits is exactly one
 * cl100k_base token (" the", " model", ",", "."), so the completion-token count the engine reports matches
 * what the gateway's tokenizer counts on the text, and the ids are real cl100k ids: a follow-up prompt that
 * quotes an earlier answer shares its KV blocks in the prefix cache, as it would on a real server.
 */
export interface Piece {
  text: string;
  /** The piece's cl100k_base token id. */
  id: number;
}

const WORDS = {
  startDeterminer: ["The", "This", "Each", "Every", "Our", "One"],
  capDeterminer: [" The", " This", " Each", " Every", " Our", " One"],
  determiner: [" the", " this", " each", " every", " our", " that"],
  adjective: [" simple", " small", " large", " new", " good", " clear", " useful", " careful", " shared"],
  noun: [
    " model",
    " system",
    " request",
    " result",
    " user",
    " server",
    " network",
    " token",
    " cache",
    " response",
    " process",
    " value",
    " method",
    " team",
    " project",
    " design",
    " memory",
    " query",
    " service",
    " report",
    " batch",
    " layer",
    " block",
    " budget",
    " replica",
    " queue",
    " prompt",
    " router",
    " policy",
  ],
  verb: [
    " returns",
    " uses",
    " improves",
    " reduces",
    " handles",
    " provides",
    " requires",
    " supports",
    " builds",
    " reads",
    " writes",
    " sends",
    " checks",
    " stores",
    " explains",
    " describes",
    " needs",
    " keeps",
    " shows",
    " finds",
    " changes",
  ],
  adverb: [" quickly", " often", " usually", " also", " clearly", " carefully", " again", " today"],
  conjunction: [" and", " but", " so", " while", " because"],
  preposition: [" of", " in", " for", " with", " on", " from", " after", " before", " during", " over"],
} as const;

type WordClass = keyof typeof WORDS;

const PUNCTUATION = [".", ","] as const;

/** Every piece the generator can emit, for tests that check each is a single cl100k token. */
export function vocabularyPieces(): string[] {
  return [...Object.values(WORDS).flat(), ...PUNCTUATION];
}

/** cl100k id of each piece: a pure table computed once at load (about a hundred short strings). */
const TOKEN_IDS: ReadonlyMap<string, number> = new Map(
  vocabularyPieces().map((text) => [text, cl100k.encode(text)[0] ?? 0]),
);

function tokenId(text: string): number {
  const id = TOKEN_IDS.get(text);
  if (id === undefined) throw new Error(`text: piece ${JSON.stringify(text)} is not in the vocabulary`);
  return id;
}

/**
 * Sentences of the shape: Det [Adj] Noun Verb Det [Adj] Noun [Prep Det Noun] [Adv] [, Conj Det Noun Verb Det
 * Noun] "." — readable enough to eyeball a stream, and one token per slot.
 */
export class TextGenerator {
  readonly #random: SeededRandom;
  #queue: string[] = [];
  #head = 0;
  #started = false;

  constructor(random: SeededRandom) {
    this.#random = random;
  }

  next(): Piece {
    if (this.#head >= this.#queue.length) {
      this.#queue = this.#sentence();
      this.#head = 0;
    }
    const text = this.#queue[this.#head++] as string;
    return { text, id: tokenId(text) };
  }

  #sentence(): string[] {
    const out: string[] = [this.#pick(this.#started ? "capDeterminer" : "startDeterminer")];
    this.#started = true;
    this.#nounPhrase(out, false);
    out.push(this.#pick("verb"));
    out.push(this.#pick("determiner"));
    this.#nounPhrase(out, true);
    if (this.#chance(0.4)) out.push(this.#pick("preposition"), this.#pick("determiner"), this.#pick("noun"));
    if (this.#chance(0.3)) out.push(this.#pick("adverb"));
    if (this.#chance(0.35)) {
      out.push(",", this.#pick("conjunction"), this.#pick("determiner"), this.#pick("noun"));
      out.push(this.#pick("verb"), this.#pick("determiner"), this.#pick("noun"));
    }
    out.push(".");
    return out;
  }

  #nounPhrase(out: string[], allowAdjective: boolean): void {
    if (allowAdjective && this.#chance(0.4)) out.push(this.#pick("adjective"));
    else if (!allowAdjective && this.#chance(0.25)) out.push(this.#pick("adjective"));
    out.push(this.#pick("noun"));
  }

  #pick(kind: WordClass): string {
    const words: readonly string[] = WORDS[kind];
    return words[Math.floor(this.#random.next() * words.length)] as string;
  }

  #chance(p: number): boolean {
    return this.#random.next() < p;
  }
}

/**
 * Seed of a request's text stream. The prompt always enters, so different prompts read differently; an explicit
 * `seed` makes sampling reproducible (OpenAI's contract); temperature 0 is greedy decoding, the same answer every
 * time; otherwise the request id makes each sampled answer differ. The replica's seed is not involved, so every
 * replica of a model answers a greedy request identically, like real weights would.
 */
export function textSeed(
  request: Pick<GenerationRequest, "promptText" | "seed" | "temperature" | "id">,
): number {
  const variant =
    request.seed !== undefined ? request.seed : request.temperature === 0 ? 0 : hashString(request.id);
  return (hashString(request.promptText) ^ Math.imul(variant | 0, 0x9e3779b1)) >>> 0;
}

/** The length the model "wants" to write before its end-of-sequence token: log-normal, at least 1. */
export function sampleOutputLength(random: SeededRandom, output: OutputSettings): number {
  return Math.max(1, Math.round(random.logNormal(output.lengthMedian, output.lengthSigma)));
}
