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
 * tiktoken) encode it. A longer one is cut, at character boundaries, into chunks of at most MAX_PIECE_BYTES,
 * and each chunk is merged on its own, by the same rule, with a faster pair lookup than the library's. The
 * cost is then linear: 1 MiB of the worst shapes measured (random letters, punctuation, whitespace, CJK, emoji)
 * takes 0.25-0.6 s, one repeated character or English prose about 40 ms (bench/results/big-prompt.md);
 * the async tokenizer cuts any of them into slices of a few ms. The count of a long pre-token is approximate:
 * no merge crosses a cut, so it is about one token more per chunk (never fewer in the tests). 256 bytes is past
 * every pre-token of ordinary prose and code (words, indentation, an 80-column "-----" rule); runs that long
 * are CJK or Thai without punctuation, base64 without digits, or padding, where a token more per 85 to 256
 * characters does not matter.
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
  /** Rank -> the token: its text, or its bytes when they are not valid UTF-8. */
  readonly bytePairRankDecoder: readonly (string | readonly number[] | undefined)[];
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
  let byteRanks: ByteRanks | undefined;
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
        // A UTF-16 code unit is at most 3 UTF-8 bytes: a short piece needs no byte count.
        else if (piece.length * 3 <= MAX_PIECE_BYTES) append(out, core.bytePairEncode(piece));
        else {
          const bytes = Buffer.from(piece, "utf8");
          if (bytes.length <= MAX_PIECE_BYTES) append(out, core.bytePairEncode(piece));
          else {
            byteRanks ??= yield* byteRankTable(core, due);
            // One character per byte: a chunk, or a long token in it, is a slice.
            const latin1 = bytes.toString("latin1");
            let previous = "";
            let previousTokens: number[] = [];
            for (let at = 0; at < bytes.length; ) {
              const end = chunkEnd(bytes, at);
              const chunk = latin1.slice(at, end);
              // A run of one repeated character or pattern cuts into equal chunks: merge one, reuse it.
              if (chunk !== previous) {
                previous = chunk;
                previousTokens = mergeBytes(bytes, latin1, at, end, byteRanks);
              }
              append(out, previousTokens);
              at = end;
              if (at < bytes.length && due()) yield;
            }
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

/** End of the chunk of UTF-8 `bytes` starting at `at`: MAX_PIECE_BYTES on, moved back to a character start. */
export function chunkEnd(bytes: Uint8Array, at: number): number {
  let end = Math.min(at + MAX_PIECE_BYTES, bytes.length);
  // 10xxxxxx continues a character; invalid UTF-8 cannot occur (the bytes come from a JS string).
  while (end < bytes.length && end > at + 1 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return end;
}

/**
 * Token ranks by bytes, for the merge below, which looks up every adjacent pair: gpt-tokenizer's own lookup
 * (validate the bytes as UTF-8, decode them, then look the text up) made 1 MiB of random letters cost 1.4 s.
 * - up to SHORT_TOKEN_BYTES bytes: keyed by a small integer made of the bytes (no string built per look-up);
 * - longer and all ASCII: the library's own text -> rank map (ASCII bytes read as latin1 are the same text);
 * - longer with a byte over 0x7f: keyed by the bytes as a latin1 string (about 5,000 tokens).
 * Built on the first long pre-token, in slices like the encoding (about 10 ms).
 */
interface ByteRanks {
  short: Map<number, number>;
  longNonAscii: Map<string, number>;
  longAscii: (text: string) => number | undefined;
}

/** Three bytes and their count fit a small integer (V8 Smi), the fastest kind of Map key. */
const SHORT_TOKEN_BYTES = 3;

/** The bytes at..end (at most SHORT_TOKEN_BYTES) as one number, with their count above them. */
function shortKey(bytes: ArrayLike<number>, at: number, end: number): number {
  let key = end - at;
  for (let i = end - 1; i >= at; i--) key = (key << 8) | (bytes[i] as number);
  return key;
}

function* byteRankTable(core: BpeCore, due: () => boolean): Generator<void, ByteRanks, undefined> {
  const table: ByteRanks = {
    short: new Map(),
    longNonAscii: new Map(),
    longAscii: (text) => core.getBpeRankFromString(text),
  };
  const decoder = core.bytePairRankDecoder;
  const codes: number[] = [];
  for (let rank = 0; rank < decoder.length; rank++) {
    const token = decoder[rank];
    if (token === undefined) continue;
    if (typeof token === "string" && isAscii(token)) {
      if (token.length <= SHORT_TOKEN_BYTES) {
        codes.length = 0;
        for (let i = 0; i < token.length; i++) codes.push(token.charCodeAt(i));
        table.short.set(shortKey(codes, 0, codes.length), rank);
      }
    } else {
      const bytes = typeof token === "string" ? Buffer.from(token, "utf8") : Buffer.from(token);
      if (bytes.length <= SHORT_TOKEN_BYTES) table.short.set(shortKey(bytes, 0, bytes.length), rank);
      else table.longNonAscii.set(bytes.toString("latin1"), rank);
    }
    if (rank % 4096 === 4095 && due()) yield;
  }
  return table;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * Byte-pair merge of bytes[from, to), as gpt-tokenizer and tiktoken merge: the pair of adjacent parts with the
 * lowest rank (leftmost on a tie) is merged until no pair is a token. Quadratic in the chunk, which is at most
 * MAX_PIECE_BYTES long.
 */
function mergeBytes(bytes: Uint8Array, latin1: string, from: number, to: number, ranks: ByteRanks): number[] {
  const length = to - from;
  // nonAscii[i]: bytes over 0x7f in bytes[from, from + i), so any slice's ASCII-ness is one subtraction.
  const nonAscii = new Int32Array(length + 1);
  for (let i = 0; i < length; i++)
    nonAscii[i + 1] = (nonAscii[i] as number) + ((bytes[from + i] as number) >> 7);
  const rankOf = (at: number, end: number): number | undefined => {
    if (end - at <= SHORT_TOKEN_BYTES) return ranks.short.get(shortKey(bytes, at, end));
    const key = latin1.slice(at, end);
    return nonAscii[end - from] === nonAscii[at - from] ? ranks.longAscii(key) : ranks.longNonAscii.get(key);
  };
  // starts[i] is where part i begins; starts[parts] is the end. pairRanks[i] ranks parts i and i + 1 merged.
  const starts = new Int32Array(length + 1);
  const pairRanks = new Float64Array(length);
  for (let i = 0; i <= length; i++) starts[i] = from + i;
  let parts = length;
  const pairRank = (i: number) =>
    i + 1 < parts
      ? (rankOf(starts[i] as number, starts[i + 2] as number) ?? Number.POSITIVE_INFINITY)
      : Number.POSITIVE_INFINITY;
  for (let i = 0; i < parts; i++) pairRanks[i] = pairRank(i);
  for (;;) {
    let best = -1;
    let bestRank = Number.POSITIVE_INFINITY;
    for (let i = 0; i + 1 < parts; i++) {
      if ((pairRanks[i] as number) < bestRank) {
        bestRank = pairRanks[i] as number;
        best = i;
      }
    }
    if (best < 0) break;
    // Merge parts best and best + 1: drop the boundary between them.
    starts.copyWithin(best + 1, best + 2, parts + 1);
    pairRanks.copyWithin(best + 1, best + 2, parts);
    parts--;
    pairRanks[best] = pairRank(best);
    if (best > 0) pairRanks[best - 1] = pairRank(best - 1);
  }
  const tokens = new Array<number>(parts);
  for (let i = 0; i < parts; i++) tokens[i] = rankOf(starts[i] as number, starts[i + 1] as number) as number;
  return tokens;
}

function checkedCore(core: unknown): BpeCore {
  const candidate = core as Partial<BpeCore> | undefined;
  if (
    !(candidate?.tokenSplitRegex instanceof RegExp) ||
    !Array.isArray(candidate.bytePairRankDecoder) ||
    typeof candidate.getBpeRankFromString !== "function" ||
    typeof candidate.bytePairEncode !== "function"
  ) {
    throw new Error(
      "gpt-tokenizer's BytePairEncodingCore no longer has the members src/core/bpe.ts uses; check its release notes",
    );
  }
  return candidate as BpeCore;
}
