/**
 * A cheap text embedding for the opt-in semantic cache: hashed character n-grams.
 *
 * Pipeline: normalise the text, count its character n-grams, weight each by sublinear term frequency
 * (1 + ln tf), hash it into one of `dimensions` buckets with a ±1 sign from a second hash (feature hashing,
 * Weinberger et al. 2009, "Feature Hashing for Large Scale Multitask Learning": the sign makes collisions
 * cancel in expectation, so inner products stay unbiased), then L2-normalise.
 *
 * Assumptions, stated so that nobody mistakes this for a sentence encoder:
 * - It measures *lexical* (spelling) similarity. It tolerates case, punctuation, spacing, typos and word order
 *   (an n-gram only sees its neighbours), and knows nothing of synonyms, negation, numbers or roles: "convert
 *   USD to EUR" and "convert EUR to USD" have exactly the same word n-grams in another order and score about as
 *   high as a true paraphrase. bench/scenarios/semantic-eval.ts measures how often that bites.
 * - Text is compared after normalisation: NFKC (full-width and compatibility forms fold to plain ones),
 *   lowercase, every run of characters that are not letters or digits (Unicode \p{L}, \p{N}) becomes one space,
 *   trimmed, then one space padded at each end so that word starts and ends are n-grams of their own.
 * - n-grams are taken over code points, so a character outside the BMP is one character, not two halves.
 *   A normalised text shorter than n is one n-gram of itself; a text with no letter or digit is the empty vector.
 * - Hashes are 32-bit FNV-1a (Fowler, Noll, Vo; offset basis 2166136261, prime 16777619) over the UTF-16 code
 *   units of the n-gram, each as two octets, followed by MurmurHash3's fmix32 finaliser, because FNV's low bits
 *   mix poorly and the bucket is taken from them. The bucket and the sign use two different offset bases, which
 *   after the finaliser behave as independent hashes for this purpose (not a proof; the tests check balance).
 * - Defaults: trigrams are the usual choice for short-text fuzzy matching (PostgreSQL pg_trgm uses them); a
 *   chat question has a few dozen distinct trigrams, so 4096 buckets keep collisions rare (birthday bound:
 *   about 60^2 / (2 x 4096) ≈ 0.4 colliding pairs per question) while a vector stays a few hundred bytes.
 */

export interface SparseVector {
  /** Bucket numbers, strictly increasing, each below the `dimensions` the vector was built with. */
  readonly indices: Uint32Array;
  /** One value per index, never 0; the vector has L2 norm 1, or is empty. */
  readonly values: Float32Array;
}

export interface EmbeddingOptions {
  /** Characters per n-gram, a positive integer. */
  ngram: number;
  /** Number of hash buckets, an integer in [1, 2^32]. */
  dimensions: number;
}

export const EMBEDDING_DEFAULTS: Readonly<EmbeddingOptions> = Object.freeze({ ngram: 3, dimensions: 4096 });

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** A second offset basis (the 32-bit golden-ratio constant) for the sign hash. */
const SIGN_OFFSET_BASIS = 0x9e3779b9;

export function embed(text: string, options: Partial<EmbeddingOptions> = {}): SparseVector {
  const { ngram, dimensions } = resolveOptions(options);
  const normalised = normalise(text);
  if (normalised === "") return { indices: new Uint32Array(0), values: new Float32Array(0) };
  const counts = new Map<string, number>();
  for (const gram of ngrams(` ${normalised} `, ngram)) counts.set(gram, (counts.get(gram) ?? 0) + 1);

  const buckets = new Map<number, number>();
  for (const [gram, tf] of counts) {
    const bucket = hash(gram, FNV_OFFSET_BASIS) % dimensions;
    const sign = hash(gram, SIGN_OFFSET_BASIS) & 1 ? 1 : -1;
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + sign * (1 + Math.log(tf)));
  }
  // Opposite signs can cancel a bucket exactly; dropping it keeps "no zero values" true.
  const entries = [...buckets].filter(([, value]) => value !== 0).sort((x, y) => x[0] - y[0]);
  const norm = l2(entries.map(([, value]) => value));
  const indices = new Uint32Array(entries.length);
  const values = new Float32Array(entries.length);
  entries.forEach(([index, value], i) => {
    indices[i] = index;
    values[i] = value / norm;
  });
  return { indices, values };
}

/** Cosine similarity in [-1, 1] by one merge of the sorted indices; 0 when either vector is empty. */
export function cosine(a: SparseVector, b: SparseVector): number {
  let dot = 0;
  let i = 0;
  let j = 0;
  while (i < a.indices.length && j < b.indices.length) {
    const ai = a.indices[i]!;
    const bj = b.indices[j]!;
    if (ai === bj) dot += a.values[i++]! * b.values[j++]!;
    else if (ai < bj) i++;
    else j++;
  }
  const norms = l2(a.values) * l2(b.values);
  // Dividing by the norms absorbs float32 rounding (and any vector not built by embed); clamp what remains.
  return norms === 0 ? 0 : Math.max(-1, Math.min(1, dot / norms));
}

/** A loop rather than Math.hypot(...values): a long text would overflow the argument list. */
function l2(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]! * values[i]!;
  return Math.sqrt(sum);
}

function resolveOptions(options: Partial<EmbeddingOptions>): EmbeddingOptions {
  const resolved = { ...EMBEDDING_DEFAULTS, ...options };
  if (!Number.isInteger(resolved.ngram) || resolved.ngram < 1) {
    throw new RangeError(`ngram must be a positive integer, got ${resolved.ngram}`);
  }
  if (!Number.isInteger(resolved.dimensions) || resolved.dimensions < 1 || resolved.dimensions > 2 ** 32) {
    throw new RangeError(`dimensions must be an integer in [1, 2^32], got ${resolved.dimensions}`);
  }
  return resolved;
}

function normalise(text: string): string {
  return text
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim();
}

function* ngrams(padded: string, n: number): Generator<string> {
  const chars = Array.from(padded);
  if (chars.length <= n) {
    yield padded;
    return;
  }
  for (let i = 0; i + n <= chars.length; i++) yield chars.slice(i, i + n).join("");
}

/** FNV-1a over the string's UTF-16 code units (low octet, then high), then MurmurHash3's fmix32; unsigned. */
function hash(text: string, basis: number): number {
  let h = basis;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    h = Math.imul(h ^ (unit & 0xff), FNV_PRIME);
    h = Math.imul(h ^ (unit >>> 8), FNV_PRIME);
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
