import cl100kApi from "gpt-tokenizer/encoding/cl100k_base";

/**
 * cl100k_base byte-pair encoding with a bounded cost per pre-token.
 *
 * BPE first splits text into pre-tokens with the encoding's regex (a word, a run of digits, of punctuation, of
 * whitespace), then merges each pre-token's bytes. gpt-tokenizer's merge rescans the whole pre-token after every
 * merge: quadratic in its length. Ordinary text has short pre-tokens, but one 100,000-letter "word" took 5 s and
 * a 1 MiB run of letters, emoji, CJK or punctuation is one pre-token that would take minutes.
 *
 * The rule: a pre-token of at most MAX_PIECE_BYTES UTF-8 bytes is encoded exactly as gpt-tokenizer (and
 * tiktoken) encode it. A longer one is cut, at character boundaries, into chunks of at most MAX_PIECE_BYTES
 * and each chunk is merged on its own. The cost is then linear: 1 MiB of the worst shapes measured (random
 * punctuation, CJK, emoji, letters; one repeated character) takes 70-300 ms, against about 120 ms for 1 MiB
 * of English (bench/scenarios/big-prompt.ts). The count is approximate: no merge crosses a cut, so it is
 * about one token more per chunk (never fewer in the tests). 256 bytes is past every pre-token of ordinary
 * prose and code (words, indentation, an 80-column "-----" rule); runs that long are CJK or Thai without
 * punctuation, base64 without digits, or padding, where a token more per 85 to 256 characters does not matter.
 */
export const MAX_PIECE_BYTES = 256;

/** Pre-tokens between two `due()` checks: a check costs a clock read, a pre-token about 0.1 µs. */
const PIECES_PER_CHECK = 256;

/**
 * The parts of gpt-tokenizer's BytePairEncodingCore used here. They are private in its typings, so they are
 * checked when the encoder is built: a release that renames them fails at start-up, and the tokenizer tests
 * compare counts with gpt-tokenizer's own `encode` on ordinary text.
 */
interface BpeCore {
  readonly tokenSplitRegex: RegExp;
  getBpeRankFromString(piece: string): number | undefined;
  /** One pre-token, through the library's merge cache (the path its own `encode` takes). */
  bytePairEncode(piece: string): number[];
}

export interface BpeEncoder {
  /**
   * Appends the tokens of `text` (special-token markers encoded as plain text) to `out`. A generator so that a
   * long text can be encoded in slices: it yields when `due()` says the current slice is used up (checked every
   * few hundred pre-tokens and after every chunk of a long one); the caller decides whether to pause there.
   */
  encodeInto(text: string, out: number[], due: () => boolean): Generator<void, void, undefined>;
}

export function createCl100kBpe(): BpeEncoder {
  const core = checkedCore(
    (cl100kApi as unknown as { bytePairEncodingCoreProcessor?: unknown }).bytePairEncodingCoreProcessor,
  );
  const append = (out: number[], tokens: readonly number[]) => {
    for (let i = 0; i < tokens.length; i++) out.push(tokens[i] as number);
  };
  return {
    *encodeInto(text, out, due) {
      let sinceCheck = 0;
      for (const match of text.matchAll(core.tokenSplitRegex)) {
        const piece = match[0];
        const rank = core.getBpeRankFromString(piece);
        if (rank !== undefined) out.push(rank);
        // A UTF-16 code unit is at most 3 UTF-8 bytes: a short piece is one chunk without counting.
        else if (piece.length * 3 <= MAX_PIECE_BYTES) append(out, core.bytePairEncode(piece));
        else {
          // Chunks go through the library's merge cache too, so a run of one repeated character costs one
          // chunk's merge; a cached chunk is at most MAX_PIECE_BYTES, like any other cached piece.
          for (let at = 0; at < piece.length; ) {
            const end = chunkEnd(piece, at);
            append(out, core.bytePairEncode(end - at === piece.length ? piece : piece.slice(at, end)));
            at = end;
            if (at < piece.length && due()) yield;
          }
        }
        if (++sinceCheck === PIECES_PER_CHECK) {
          sinceCheck = 0;
          if (due()) yield;
        }
      }
    },
  };
}

/**
 * End (exclusive, in UTF-16 code units) of the chunk of `piece` starting at `start`: as many whole characters
 * as fit in MAX_PIECE_BYTES of UTF-8 (a surrogate pair is one 4-byte character and is never split; a lone
 * surrogate is 3 bytes, as TextEncoder writes U+FFFD for it). At least one character.
 */
export function chunkEnd(piece: string, start: number): number {
  let bytes = 0;
  let at = start;
  while (at < piece.length) {
    const unit = piece.charCodeAt(at);
    const pair =
      unit >= 0xd800 &&
      unit <= 0xdbff &&
      at + 1 < piece.length &&
      (piece.charCodeAt(at + 1) & 0xfc00) === 0xdc00;
    const size = unit < 0x80 ? 1 : unit < 0x800 ? 2 : pair ? 4 : 3;
    if (bytes + size > MAX_PIECE_BYTES && at > start) break;
    bytes += size;
    at += pair ? 2 : 1;
  }
  return at;
}

function checkedCore(core: unknown): BpeCore {
  const candidate = core as Partial<BpeCore> | undefined;
  if (
    !(candidate?.tokenSplitRegex instanceof RegExp) ||
    typeof candidate.getBpeRankFromString !== "function" ||
    typeof candidate.bytePairEncode !== "function"
  ) {
    throw new Error(
      "gpt-tokenizer's BytePairEncodingCore no longer has the members src/core/bpe.ts uses; check its release notes",
    );
  }
  return candidate as BpeCore;
}
