import type { ClassSummary } from "./class-tally.js";

/** One open-loop run summarised by SLO class (see class-tally.ts). */
export interface ClassRun {
  /** Offered requests per second. */
  offeredRate: number;
  /** The run's length, arrivals and drain: the denominator of goodput and of `requestsPerSecond` below. */
  durationMs: number;
  classes: Record<string, ClassSummary>;
}

const HEADER = [
  "run",
  "class",
  "sent",
  "200",
  "shed",
  "unfin",
  "TTFT p50",
  "TTFT p99",
  "SLO met",
  "goodput/s",
];
/** Widths of the numeric columns; the run and class columns are as wide as their longest cell. */
const NUMBER_WIDTHS = [5, 5, 5, 5, 8, 8, 7, 9];

/**
 * A fixed-width table, one line per run and class, in `order` (classes not in it follow, as first seen): sent,
 * admitted (200), shed share, unfinished, TTFT p50/p99 of admitted requests (ms), SLO attainment among admitted,
 * goodput, then the Retry-After values of the shed ones. Lines rather than a markdown table because report.ts
 * renders only latency tables; a list of strings shows as an aligned block in the .md and stays in the .json.
 */
export function classTable(
  runs: Readonly<Record<string, ClassRun>>,
  order: readonly string[] = [],
): string[] {
  const body: { cells: string[]; retryAfter: string }[] = [];
  for (const [name, run] of Object.entries(runs)) {
    for (const [sloClass, c] of ordered(run.classes, order)) {
      const cells = [
        `${name} (${formatRate(run.offeredRate)} req/s)`,
        sloClass,
        String(c.sent),
        String(c.admitted),
        percent(c.shedRate),
        String(c.unfinished),
        c.admitted > 0 ? c.ttft.p50.toFixed(0) : "-",
        c.admitted > 0 ? c.ttft.p99.toFixed(0) : "-",
        c.admitted > 0 ? percent(c.attainment) : "-",
        c.goodput.toFixed(1),
      ];
      body.push({ cells, retryAfter: retryAfterText(c.retryAfter) });
    }
  }
  const text = [HEADER, ...body.map((row) => row.cells)];
  const widths = [0, 1].map((i) => Math.max(...text.map((cells) => cells[i]!.length)));
  widths.push(...NUMBER_WIDTHS);
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(" ");
  return [
    line(HEADER),
    ...body.map((row) => line(row.cells) + (row.retryAfter === "" ? "" : `  Retry-After ${row.retryAfter}`)),
  ];
}

/**
 * Every class summary of every run, keyed `run / class`, with `requestsPerSecond` (admitted responses per second
 * of the run) added: report.ts renders these as a latency table of admitted TTFT, and the JSON keeps them whole.
 */
export function classRows(
  runs: Readonly<Record<string, ClassRun>>,
  order: readonly string[] = [],
): Record<string, ClassSummary & { requestsPerSecond: number }> {
  const rows: Record<string, ClassSummary & { requestsPerSecond: number }> = {};
  for (const [name, run] of Object.entries(runs)) {
    for (const [sloClass, c] of ordered(run.classes, order)) {
      const requestsPerSecond = run.durationMs > 0 ? (c.admitted * 1000) / run.durationMs : 0;
      rows[`${name} / ${sloClass}`] = { requestsPerSecond, ...c };
    }
  }
  return rows;
}

/** Retry-After values, ascending, as `1s x12 2s x3` (a shed answer without the header shows as `none`). */
export function retryAfterText(counts: Readonly<Record<string, number>>): string {
  const key = (seconds: string) => (seconds === "none" ? Number.POSITIVE_INFINITY : Number(seconds));
  return Object.entries(counts)
    .sort((x, y) => key(x[0]) - key(y[0]))
    .map(([seconds, n]) => `${seconds === "none" ? "none" : `${seconds}s`} x${n}`)
    .join(" ");
}

function ordered(
  classes: Readonly<Record<string, ClassSummary>>,
  order: readonly string[],
): [string, ClassSummary][] {
  const rank = (name: string) => (order.includes(name) ? order.indexOf(name) : order.length);
  // Array.prototype.sort is stable: classes outside `order` keep the order they were first seen in.
  return Object.entries(classes).sort((a, b) => rank(a[0]) - rank(b[0]));
}

function percent(x: number): string {
  return `${(100 * x).toFixed(0)}%`;
}

function formatRate(rate: number): string {
  return Number.isInteger(rate) ? String(rate) : rate.toFixed(1);
}
