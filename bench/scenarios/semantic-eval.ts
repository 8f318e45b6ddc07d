import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { cosine, EMBEDDING_DEFAULTS, type EmbeddingOptions, embed } from "../../src/cache/embedding.js";
import type { Scenario } from "./types.js";

/**
 * How well the semantic cache's hashed n-gram embedding tells a paraphrase (a cache hit would be right) from a
 * question that reads almost the same but means something else (a hit would serve a wrong answer). Offline and
 * deterministic: no server, no load, no randomness, so --quick runs the same thing.
 *
 * The data set, bench/data/semantic-pairs.json, is hand-written chat-assistant questions, each pair labelled
 * `same` and, beyond the brief's `{ a, b, same }`, a `kind`: `paraphrase` (reordered, synonyms, typos, politeness)
 * or how the meaning changes (`entity`, `number`, `negation`, `swap` of roles, `unit`, `action`), or `unrelated`.
 * It is deliberately hard: most different-meaning pairs share nearly every word, which is the case a cache meets
 * when users ask the same template question about different things.
 *
 * Per threshold: recall (hits on same-meaning pairs), false-hit rate (hits on different-meaning pairs) and
 * precision of hits. Precision depends on this set's mix (about half paraphrases); a real cache's traffic has
 * its own base rate, so compare thresholds by recall and false-hit rate.
 */
const DATA_FILE = fileURLToPath(new URL("../data/semantic-pairs.json", import.meta.url));
const THRESHOLDS = [0.7, 0.75, 0.8, 0.85, 0.9, 0.95] as const;
/** Alternatives to the default n-gram length, scored on the same pairs so the default can be judged. */
const NGRAMS = [2, 3, 4, 5] as const;
/** The false-hit rate a default threshold must stay under: a wrong cached answer is worse than a miss. */
const MAX_FALSE_HIT_RATE = 0.05;

const PairsSchema = z
  .array(
    z.object({
      a: z.string().min(1),
      b: z.string().min(1),
      same: z.boolean(),
      kind: z.string().default("unlabelled"),
    }),
  )
  .min(1);
type Pair = z.infer<typeof PairsSchema>[number];

interface Scored extends Pair {
  similarity: number;
}

interface ThresholdRow {
  threshold: number;
  /** Hits on same-meaning pairs / same-meaning pairs. */
  recall: number;
  /** Hits on different-meaning pairs / different-meaning pairs. */
  falseHitRate: number;
  /** Correct hits / hits; null when nothing hit. */
  precision: number | null;
  truePositives: number;
  falseNegatives: number;
  falsePositives: number;
  trueNegatives: number;
}

interface Distribution {
  pairs: number;
  min: number;
  median: number;
  max: number;
}

export const semanticEval: Scenario = {
  name: "semantic-eval",
  description: "Semantic-cache embedding on labelled question pairs: recall and false hits per threshold",
  async run(context) {
    const pairs = PairsSchema.parse(JSON.parse(readFileSync(DATA_FILE, "utf8")));
    context.log(`${pairs.length} pairs from ${DATA_FILE}`);
    const scored = score(pairs, EMBEDDING_DEFAULTS);
    const table = THRESHOLDS.map((threshold) => evaluate(scored, threshold));

    const kinds = [...new Set(scored.map((pair) => pair.kind))];
    const byKind = Object.fromEntries(
      kinds.map((kind) => [kind, distribution(scored.filter((pair) => pair.kind === kind))]),
    );
    const ngramSensitivity = Object.fromEntries(
      NGRAMS.map((ngram) => {
        const rows = THRESHOLDS.map((t) => evaluate(score(pairs, { ...EMBEDDING_DEFAULTS, ngram }), t));
        return [
          `ngram ${ngram}`,
          Object.fromEntries(rows.map((row) => [row.threshold.toFixed(2), pick(row)])),
        ];
      }),
    );
    const counts = Object.fromEntries(
      kinds.map((kind) => [kind, scored.filter((p) => p.kind === kind).length]),
    );
    return {
      config: {
        dataFile: "bench/data/semantic-pairs.json",
        pairs: pairs.length,
        pairsByKind: counts,
        embedding: EMBEDDING_DEFAULTS,
        thresholds: THRESHOLDS,
        maxFalseHitRateForDefault: MAX_FALSE_HIT_RATE,
      },
      results: {
        "per threshold": Object.fromEntries(table.map((row) => [row.threshold.toFixed(2), row])),
        "similarity by class": {
          "same meaning": distribution(scored.filter((pair) => pair.same)),
          "different meaning": distribution(scored.filter((pair) => !pair.same)),
          "different meaning, excluding unrelated": distribution(
            scored.filter((pair) => !pair.same && pair.kind !== "unrelated"),
          ),
        },
        "similarity by kind": byKind,
        "ranking (AUC)": {
          "same vs different": auc(scored, () => true),
          "same vs near-duplicates": auc(scored, (pair) => pair.kind !== "unrelated"),
        },
        "n-gram length (4096 buckets)": ngramSensitivity,
        pairs: scored.map((pair) => ({ ...pair, similarity: round(pair.similarity) })),
      },
      notes: notes(scored, table),
    };
  },
};

function score(pairs: readonly Pair[], options: EmbeddingOptions): Scored[] {
  return pairs.map((pair) => ({
    ...pair,
    similarity: cosine(embed(pair.a, options), embed(pair.b, options)),
  }));
}

/** A pair is a hit when its similarity reaches the threshold, as a cache look-up would treat it. */
function evaluate(scored: readonly Scored[], threshold: number): ThresholdRow {
  let truePositives = 0;
  let falseNegatives = 0;
  let falsePositives = 0;
  let trueNegatives = 0;
  for (const pair of scored) {
    const hit = pair.similarity >= threshold;
    if (pair.same) hit ? truePositives++ : falseNegatives++;
    else hit ? falsePositives++ : trueNegatives++;
  }
  const hits = truePositives + falsePositives;
  return {
    threshold,
    recall: round(ratio(truePositives, truePositives + falseNegatives)),
    falseHitRate: round(ratio(falsePositives, falsePositives + trueNegatives)),
    precision: hits === 0 ? null : round(ratio(truePositives, hits)),
    truePositives,
    falseNegatives,
    falsePositives,
    trueNegatives,
  };
}

/**
 * Probability that a random same-meaning pair scores above a random different-meaning one (ties count half):
 * the area under the ROC curve, threshold-free. 0.5 is a coin toss; below it the score ranks the wrong way.
 */
function auc(scored: readonly Scored[], includeDifferent: (pair: Scored) => boolean): number {
  const same = scored.filter((pair) => pair.same);
  const different = scored.filter((pair) => !pair.same && includeDifferent(pair));
  let wins = 0;
  for (const s of same) {
    for (const d of different)
      wins += s.similarity > d.similarity ? 1 : s.similarity === d.similarity ? 0.5 : 0;
  }
  return round(ratio(wins, same.length * different.length));
}

function pick(row: ThresholdRow): Pick<ThresholdRow, "recall" | "falseHitRate" | "precision"> {
  return { recall: row.recall, falseHitRate: row.falseHitRate, precision: row.precision };
}

function distribution(scored: readonly Scored[]): Distribution {
  const sorted = scored.map((pair) => pair.similarity).sort((x, y) => x - y);
  const n = sorted.length;
  const median = n === 0 ? Number.NaN : (sorted[Math.floor((n - 1) / 2)]! + sorted[Math.floor(n / 2)]!) / 2;
  return {
    pairs: n,
    min: round(sorted[0] ?? Number.NaN),
    median: round(median),
    max: round(sorted.at(-1) ?? Number.NaN),
  };
}

function notes(scored: readonly Scored[], table: readonly ThresholdRow[]): string[] {
  const same = scored.filter((pair) => pair.same);
  const different = scored.filter((pair) => !pair.same);
  const lines = [
    `${scored.length} pairs: ${same.length} same meaning, ${different.length} different meaning ` +
      `(${different.filter((p) => p.kind === "unrelated").length} of them unrelated, the rest near-duplicates)`,
  ];
  for (const row of table) {
    lines.push(
      `threshold ${row.threshold.toFixed(2)}: recall ${percent(row.recall)} (${row.truePositives}/${same.length}), ` +
        `false hits ${percent(row.falseHitRate)} (${row.falsePositives}/${different.length}), ` +
        `precision ${row.precision === null ? "-" : percent(row.precision)}`,
    );
  }
  const nearDuplicates = different.filter((pair) => pair.kind !== "unrelated");
  const spread = (pairs: readonly Scored[]): string => {
    const d = distribution(pairs);
    return `${d.min.toFixed(2)}/${d.median.toFixed(2)}/${d.max.toFixed(2)}`;
  };
  lines.push(
    `similarity min/median/max: same meaning ${spread(same)}; different meaning ${spread(different)} ` +
      `(near-duplicates ${spread(nearDuplicates)}, unrelated ${spread(different.filter((p) => p.kind === "unrelated"))})`,
    `AUC same vs near-duplicates: ${auc(scored, (pair) => pair.kind !== "unrelated").toFixed(2)} (0.5 is chance)`,
  );
  const safe = table.find((row) => row.falseHitRate <= MAX_FALSE_HIT_RATE);
  lines.push(
    safe === undefined
      ? `no threshold keeps false hits at or under ${percent(MAX_FALSE_HIT_RATE)}`
      : `lowest threshold with false hits <= ${percent(MAX_FALSE_HIT_RATE)}: ${safe.threshold.toFixed(2)} ` +
          `(recall ${percent(safe.recall)})`,
  );
  const fooled = different
    .toSorted((x, y) => y.similarity - x.similarity)
    .slice(0, 3)
    .map((p) => `"${p.a}" / "${p.b}" (${p.kind}) ${p.similarity.toFixed(3)}`);
  lines.push(`most similar different-meaning pairs: ${fooled.join("; ")}`);
  const missed = same
    .toSorted((x, y) => x.similarity - y.similarity)
    .slice(0, 3)
    .map((p) => `"${p.a}" / "${p.b}" ${p.similarity.toFixed(3)}`);
  lines.push(`least similar paraphrases: ${missed.join("; ")}`);
  return lines;
}

function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? Number.NaN : numerator / denominator;
}

function percent(value: number): string {
  return `${(value * 100).toFixed(0)}%`;
}

function round(value: number): number {
  return Math.round(value * 1e4) / 1e4;
}
