/** Small inline SVG charts for the HTML report: no library, no external resources, text escaped. */

export interface Line {
  name: string;
  color: string;
  values: readonly number[];
}

const WIDTH = 720;
const HEIGHT = 240;
const PAD = { left: 64, right: 16, top: 28, bottom: 36 };
const PLOT_W = WIDTH - PAD.left - PAD.right;
const PLOT_H = HEIGHT - PAD.top - PAD.bottom;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** 3 significant digits, without exponent noise for the usual ranges. */
export function formatNumber(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return "0";
  const abs = Math.abs(v);
  if (abs >= 1000) return v.toFixed(0);
  if (abs >= 0.001) return String(Number(v.toPrecision(3)));
  return v.toExponential(2);
}

/** A round upper bound for the y axis (1, 2 or 5 x 10^k), so the ticks read well. */
function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const step = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * step >= max) return m * step;
  return 10 * step;
}

function frame(
  title: string,
  body: string,
  axes: { yMax: number; xLabels: [string, string]; yUnit: string },
) {
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const y = PAD.top + PLOT_H * (1 - f);
      return (
        `<line x1="${PAD.left}" y1="${y}" x2="${WIDTH - PAD.right}" y2="${y}" stroke="#ddd"/>` +
        `<text x="${PAD.left - 6}" y="${y + 4}" text-anchor="end" font-size="11">${formatNumber(axes.yMax * f)}</text>`
      );
    })
    .join("");
  const bottom = HEIGHT - PAD.bottom + 16;
  return (
    `<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escapeHtml(title)}">` +
    `<text x="${PAD.left}" y="16" font-size="13" font-weight="bold">${escapeHtml(title)}</text>` +
    `<text x="${WIDTH - PAD.right}" y="16" font-size="11" text-anchor="end">${escapeHtml(axes.yUnit)}</text>` +
    ticks +
    body +
    `<text x="${PAD.left}" y="${bottom}" font-size="11">${escapeHtml(axes.xLabels[0])}</text>` +
    `<text x="${WIDTH - PAD.right}" y="${bottom}" font-size="11" text-anchor="end">${escapeHtml(axes.xLabels[1])}</text>` +
    `</svg>`
  );
}

/** Lines over equally spaced x positions (time buckets), with a legend; `yMax` fixes the scale (e.g. 1 for shares). */
export function lineChart(options: {
  title: string;
  lines: readonly Line[];
  xLabels: [string, string];
  yUnit: string;
  yMax?: number;
}): string {
  const { lines } = options;
  const n = Math.max(0, ...lines.map((l) => l.values.length));
  const yMax =
    options.yMax ?? niceMax(Math.max(0, ...lines.flatMap((l) => l.values.filter(Number.isFinite))));
  const x = (i: number) => PAD.left + (n <= 1 ? PLOT_W / 2 : (PLOT_W * i) / (n - 1));
  const y = (v: number) => PAD.top + PLOT_H * (1 - Math.min(1, Math.max(0, v / yMax)));
  const paths = lines
    .map((line) => {
      if (line.values.length === 0) return "";
      const d = line.values
        .map((v, i) => `${i === 0 ? "M" : "L"}${x(i).toFixed(1)} ${y(Number.isFinite(v) ? v : 0).toFixed(1)}`)
        .join(" ");
      return `<path d="${d}" fill="none" stroke="${line.color}" stroke-width="1.5"/>`;
    })
    .join("");
  const legend = lines
    .map((line, i) => {
      const lx = PAD.left + 150 + i * 110;
      return (
        `<rect x="${lx}" y="7" width="10" height="10" fill="${line.color}"/>` +
        `<text x="${lx + 14}" y="16" font-size="11">${escapeHtml(line.name)}</text>`
      );
    })
    .join("");
  return frame(options.title, paths + legend, { yMax, xLabels: options.xLabels, yUnit: options.yUnit });
}

/** A histogram: one bar per bin, bins labelled by their bounds at either end. */
export function barChart(options: {
  title: string;
  bins: readonly { lower: number; upper: number; count: number }[];
  yUnit: string;
  formatBound?: (v: number) => string;
}): string {
  const { bins } = options;
  const format = options.formatBound ?? formatNumber;
  const yMax = niceMax(Math.max(0, ...bins.map((b) => b.count)));
  const w = bins.length === 0 ? 0 : PLOT_W / bins.length;
  const bars = bins
    .map((b, i) => {
      const h = (PLOT_H * b.count) / yMax;
      const x = PAD.left + i * w;
      return (
        `<rect x="${x.toFixed(1)}" y="${(PAD.top + PLOT_H - h).toFixed(1)}" width="${Math.max(0.5, w - 1).toFixed(1)}" ` +
        `height="${h.toFixed(1)}" fill="#4e79a7"><title>${escapeHtml(`${format(b.lower)} - ${format(b.upper)}: ${b.count}`)}</title></rect>`
      );
    })
    .join("");
  const xLabels: [string, string] =
    bins.length === 0 ? ["no data", ""] : [format(bins[0]!.lower), format(bins[bins.length - 1]!.upper)];
  return frame(options.title, bars, { yMax, xLabels, yUnit: options.yUnit });
}
