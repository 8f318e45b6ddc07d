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
 * and each chunk is merged on its own: the cost is linear (about 0.5 µs per byte here, against about 0.1 µs
 * per byte for English prose), and the count can only be off by about one token per chunk, upwards (no merge
 * crosses a cut). 256 bytes is past every pre-token of ordinary prose and code (words, indentation, a
 * "-----" rule); runs that long are CJK or Thai sentences without punctuation, base64 without digits, or
 * padding, where a token more or less per 85 characters does not matter.
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
  /** UTF-8 bytes, uncached. */
  bytePairMerge(bytes: Uint8Array): number[];
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
  const utf8 = new TextEncoder();
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
        // A UTF-16 code unit is at most 3 UTF-8 bytes: short pieces need no byte count.
        else if (piece.length * 3 <= MAX_PIECE_BYTES) append(out, core.bytePairEncode(piece));
        else {
          const bytes = utf8.encode(piece);
          if (bytes.length <= MAX_PIECE_BYTES) append(out, core.bytePairEncode(piece));
          else {
            for (let at = 0; at < bytes.length; ) {
              const end = chunkEnd(bytes, at);
              append(out, core.bytePairMerge(bytes.subarray(at, end)));
              at = end;
              if (due()) yield;
            }
            sinceCheck = 0;
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

/** End of the chunk starting at `at`: MAX_PIECE_BYTES on, moved back off UTF-8 continuation bytes (10xxxxxx). */
function chunkEnd(bytes: Uint8Array, at: number): number {
  let end = Math.min(at + MAX_PIECE_BYTES, bytes.length);
  while (end < bytes.length && end > at + 1 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return end;
}

function checkedCore(core: unknown): BpeCore {
  const candidate = core as Partial<BpeCore> | undefined;
  if (
    !(candidate?.tokenSplitRegex instanceof RegExp) ||
    typeof candidate.getBpeRankFromString !== "function" ||
    typeof candidate.bytePairEncode !== "function" ||
    typeof candidate.bytePairMerge !== "function"
  ) {
    throw new Error(
      "gpt-tokenizer's BytePairEncodingCore no longer has the members src/core/bpe.ts uses; check its release notes",
    );
  }
  return candidate as BpeCore;
}
