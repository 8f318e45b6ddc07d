/**
 * The gateway's /metrics as the bench reads it: scraped before and after a measured interval, parsed from the
 * Prometheus text exposition format (version 0.0.4), and compared. prom-client writes the format but has no
 * parser; this one is strict (a line that is not a comment, blank, or `name{labels} value [timestamp]` throws),
 * so a change in what the gateway prints fails a run instead of quietly reading as 0.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export type Samples = readonly Sample[];

/** Two scrapes of one gateway, around the interval being measured. */
export interface ScrapePair {
  before: Samples;
  after: Samples;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/y;

export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line === "" || line.startsWith("#")) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`line ${i + 1} is not a valid sample: ${line}`);
    samples.push({
      name: match[1]!,
      labels: parseLabels(match[3] ?? "", i, line),
      value: parseValue(match[4]!, i, line),
    });
  }
  return samples;
}

function parseLabels(body: string, i: number, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < body.length) {
    const m = LABEL.exec(body);
    if (!m) throw new Error(`line ${i + 1} has malformed labels: ${line}`);
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
  }
  return labels;
}

function parseValue(raw: string, i: number, line: string): number {
  // Prometheus accepts NaN in any case (prom-client prints the event-loop gauges as "Nan" before a sample).
  if (raw.toLowerCase() === "nan") return Number.NaN;
  if (raw === "+Inf") return Number.POSITIVE_INFINITY;
  if (raw === "-Inf") return Number.NEGATIVE_INFINITY;
  const value = Number(raw);
  if (Number.isNaN(value)) throw new Error(`line ${i + 1} has a bad value: ${line}`);
  return value;
}

/** GET `${baseUrl}/metrics`, parsed; a non-2xx answer throws. */
export async function scrapeMetrics(baseUrl: string): Promise<Sample[]> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  return parseExposition(await response.text());
}

/** Sum of the samples named `name` whose labels include `labels` (all of them when `labels` is empty). */
export function sumSamples(samples: Samples, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels);
  let sum = 0;
  for (const s of samples) {
    if (s.name === name && wanted.every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

/** How much `name` (summed over the samples whose labels include `labels`) grew between the scrapes. */
export function metricDelta(pair: ScrapePair, name: string, labels: Record<string, string> = {}): number {
  return sumSamples(pair.after, name, labels) - sumSamples(pair.before, name, labels);
}

/**
 * The growth of `name` per value of `label` (a sample without it counts under ""), in the order the values
 * first appear in the later scrape.
 */
export function metricDeltaBy(pair: ScrapePair, name: string, label: string): Map<string, number> {
  const deltas = new Map<string, number>();
  const add = (samples: Samples, sign: 1 | -1) => {
    for (const s of samples) {
      if (s.name !== name) continue;
      const key = s.labels[label] ?? "";
      deltas.set(key, (deltas.get(key) ?? 0) + sign * s.value);
    }
  };
  add(pair.after, 1);
  add(pair.before, -1);
  return deltas;
}

/**
 * Mean of the observations a histogram (or summary) `name` took between the scrapes: the growth of `name_sum`
 * over that of `name_count`, 0 when it observed nothing.
 */
export function histogramMeanDelta(
  pair: ScrapePair,
  name: string,
  labels: Record<string, string> = {},
): number {
  const count = metricDelta(pair, `${name}_count`, labels);
  return count > 0 ? metricDelta(pair, `${name}_sum`, labels) / count : 0;
}
