/**
 * A strict parser for the Prometheus text exposition format (version 0.0.4), enough to check what /metrics
 * says: every line must be a comment, blank, or `name{labels} value`; anything else throws.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/y;

export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line === "" || line.startsWith("#")) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`line ${i + 1} is not a valid sample: ${line}`);
    const labels: Record<string, string> = {};
    const body = match[3] ?? "";
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const m = LABEL.exec(body);
      if (!m) throw new Error(`line ${i + 1} has malformed labels: ${line}`);
      labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    const raw = match[4]!;
    // Prometheus accepts NaN in any case (prom-client prints the event-loop gauges as "Nan" before a sample).
    const isNaNLiteral = raw.toLowerCase() === "nan";
    const value = isNaNLiteral
      ? Number.NaN
      : raw === "+Inf"
        ? Number.POSITIVE_INFINITY
        : raw === "-Inf"
          ? Number.NEGATIVE_INFINITY
          : Number(raw);
    if (Number.isNaN(value) && !isNaNLiteral) throw new Error(`line ${i + 1} has a bad value: ${line}`);
    samples.push({ name: match[1]!, labels, value });
  }
  return samples;
}

/** Sum of the samples named `name` whose labels include `labels`. */
export function sampleValue(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string>,
): number {
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}
