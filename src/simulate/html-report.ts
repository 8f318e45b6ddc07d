import type { SimulationReport } from "./runner.js";
import { barChart, escapeHtml, formatNumber, lineChart } from "./svg-chart.js";

const STYLE = `body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:760px}
table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}section{margin-bottom:1.5em}svg{background:#fafafa}`;

const COLORS = { p50: "#4e79a7", p99: "#e15759", mean: "#59a14f", max: "#f28e2b" } as const;

/**
 * The simulation report as one self-contained HTML page: the JSON report's summary as tables, then inline SVG
 * charts of the time series and the cost distribution. No scripts, stylesheets or images are fetched.
 */
export function htmlReport(report: SimulationReport, options: { title?: string } = {}): string {
  const title = options.title ?? "Tollgate simulation report";
  const points = report.series.points;
  const xLabels: [string, string] = [
    "0 s",
    `${formatNumber(points.length * report.series.bucketSeconds)} s (buckets of ${formatNumber(report.series.bucketSeconds)} s)`,
  ];
  const col = (pick: (p: (typeof points)[number]) => number) => points.map(pick);
  const sections = [
    section("Summary", summaryTable(report) + classTable(report)),
    section(
      "Latency over time",
      lineChart({
        title: "Time to first token (responses ending in each bucket)",
        yUnit: "ms",
        xLabels,
        lines: [
          { name: "TTFT p50", color: COLORS.p50, values: col((p) => p.ttftP50Ms) },
          { name: "TTFT p99", color: COLORS.p99, values: col((p) => p.ttftP99Ms) },
        ],
      }) +
        lineChart({
          title: "End-to-end latency",
          yUnit: "ms",
          xLabels,
          lines: [
            { name: "e2e p50", color: COLORS.p50, values: col((p) => p.e2eP50Ms) },
            { name: "e2e p99", color: COLORS.p99, values: col((p) => p.e2eP99Ms) },
          ],
        }),
    ),
    section(
      "Cost per response",
      barChart({
        title: "Attributed cost per response (log-spaced bins)",
        yUnit: "responses",
        bins: report.cost.perResponseBins,
        formatBound: (v) => `$${formatNumber(v)}`,
      }),
    ),
    section(
      "Utilization over time",
      lineChart({
        title: "Busy share of replica time (engine steps running)",
        yUnit: "share",
        yMax: 1,
        xLabels,
        lines: [{ name: "utilization", color: COLORS.mean, values: col((p) => p.utilization) }],
      }),
    ),
    section(
      "Queue depth over time",
      lineChart({
        title: "Requests waiting: in the gateway's queues, and inside the engines",
        yUnit: "requests",
        xLabels,
        lines: [
          { name: "gateway mean", color: COLORS.mean, values: col((p) => p.queueDepthMean) },
          { name: "gateway max", color: COLORS.max, values: col((p) => p.queueDepthMax) },
          { name: "engines max", color: COLORS.p50, values: col((p) => p.engineWaitingMax) },
        ],
      }),
    ),
    section(
      "KV-cache usage over time",
      lineChart({
        title: "Share of KV-cache blocks in use",
        yUnit: "share",
        yMax: 1,
        xLabels,
        lines: [
          { name: "mean of replicas", color: COLORS.mean, values: col((p) => p.kvCacheUsageMean) },
          { name: "fullest replica", color: COLORS.max, values: col((p) => p.kvCacheUsageMax) },
        ],
      }),
    ),
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${sections.join("\n")}
</body>
</html>
`;
}

function section(heading: string, body: string): string {
  const id = heading.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return `<section id="${id}"><h2>${escapeHtml(heading)}</h2>${body}</section>`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const th = header.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const trs = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`).join("");
  return `<table><thead><tr>${th}</tr></thead><tbody>${trs}</tbody></table>`;
}

function summaryTable(r: SimulationReport): string {
  const errors = Object.entries(r.errors).map(([code, n]) => `${code} ${n}`);
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  return table(
    ["", "value"],
    [
      ["requests", String(r.requests)],
      ["completed", String(r.completed)],
      ["errors", errors.length === 0 ? "none" : errors.join(", ")],
      ["SLO met", `${r.sloMet} (${pct(r.sloAttainment)})`],
      ["goodput", `${formatNumber(r.goodputPerSecond)} req/s`],
      ["throughput", `${formatNumber(r.throughputTokensPerSecond)} output tokens/s`],
      [
        "tokens (prompt / cached / completion)",
        `${r.tokens.prompt} / ${r.tokens.cachedPrompt} / ${r.tokens.completion}`,
      ],
      ["mean cost per response", `$${formatNumber(r.cost.meanPerResponseUsd)}`],
      [
        "attributed cost / spend",
        `$${formatNumber(r.cost.attributedUsd)} / $${formatNumber(r.cost.spendUsd)}`,
      ],
      ["simulated / wall time", `${r.simulatedSeconds.toFixed(1)} s / ${r.wallSeconds.toFixed(2)} s`],
    ],
  );
}

function classTable(r: SimulationReport): string {
  const triple = (l: { p50: number; p90: number; p99: number }) =>
    `${formatNumber(l.p50)} / ${formatNumber(l.p90)} / ${formatNumber(l.p99)}`;
  const rows = Object.entries(r.classes).map(([name, c]) => [
    name,
    `${c.completed}/${c.requests}`,
    `${(c.sloAttainment * 100).toFixed(1)}%`,
    triple(c.ttftMs),
    triple(c.tpotMs),
    triple(c.e2eMs),
  ]);
  return table(["class", "done", "SLO", "TTFT ms p50/p90/p99", "TPOT ms", "e2e ms"], rows);
}
