import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, release, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { LatencySummary } from "./histogram.js";

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  totalMemoryBytes: number;
  node: string;
  platform: string;
  /** `git rev-parse --short HEAD`, or "unknown" outside a git checkout. */
  commit: string;
}

/** Where results go by default: bench/results at the repository root, wherever the command runs from. */
export const DEFAULT_RESULTS_DIR = fileURLToPath(new URL("../results/", import.meta.url));
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The machine a result came from: numbers are meaningless without it. `readCommit` is for tests. */
export function machineInfo(options: { readCommit?: () => string } = {}): MachineInfo {
  return {
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    cores: availableParallelism(),
    totalMemoryBytes: totalmem(),
    node: process.version,
    platform: `${process.platform} ${release()} ${process.arch}`,
    commit: (options.readCommit ?? readGitCommit)(),
  };
}

function readGitCommit(): string {
  try {
    const out = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    return out.trim() || "unknown";
  } catch {
    return "unknown";
  }
}

export interface WriteResultOptions {
  scenario: string;
  /** The command line that produced the result, so anyone can run it again. */
  command: string;
  quick: boolean;
  config: unknown;
  /** Named result blocks, each a record of named runs (e.g. `{ "open loop": { "Tollgate": result } }`). */
  results: Record<string, unknown>;
  notes?: readonly string[];
  /** Default bench/results. */
  dir?: string;
  /** Defaults to {@link machineInfo}(); tests pass a fixed one. */
  machine?: MachineInfo;
  /** ISO 8601; default now. */
  startedAt?: string;
}

/** Bumped when the JSON layout changes incompatibly, so old result files can still be told apart. */
export const RESULT_SCHEMA = 1;

/** Writes `<dir>/<scenario>.json` (everything) and `<dir>/<scenario>.md` (the tables); returns both paths. */
export function writeResult(options: WriteResultOptions): { json: string; markdown: string } {
  if (!/^[\w.-]+$/.test(options.scenario)) {
    throw new RangeError(`scenario must be a file-name-safe word, got ${JSON.stringify(options.scenario)}`);
  }
  const dir = options.dir ?? DEFAULT_RESULTS_DIR;
  const machine = options.machine ?? machineInfo();
  const document = {
    schema: RESULT_SCHEMA,
    scenario: options.scenario,
    startedAt: options.startedAt ?? new Date().toISOString(),
    quick: options.quick,
    machine,
    command: options.command,
    config: options.config,
    results: options.results,
    notes: options.notes ?? [],
  };
  mkdirSync(dir, { recursive: true });
  const json = join(dir, `${options.scenario}.json`);
  const markdown = join(dir, `${options.scenario}.md`);
  writeFileSync(json, JSON.stringify(document, null, 2) + "\n");
  writeFileSync(markdown, formatMarkdown(document));
  return { json, markdown };
}

function formatMarkdown(doc: {
  scenario: string;
  startedAt: string;
  quick: boolean;
  machine: MachineInfo;
  command: string;
  results: Record<string, unknown>;
  notes: readonly string[];
}): string {
  const m = doc.machine;
  const memoryGiB = (m.totalMemoryBytes / 2 ** 30).toFixed(1);
  const lines = [
    `# ${doc.scenario}`,
    "",
    `- Machine: ${m.cpuModel} (${m.cores} cores, ${memoryGiB} GiB), Node ${m.node}, ${m.platform}, commit ${m.commit}`,
    `- Command: \`${doc.command}\`${doc.quick ? " (quick)" : ""}`,
    `- Started: ${doc.startedAt}`,
    "",
  ];
  if (doc.notes.length > 0) lines.push(...doc.notes.map((note) => `- ${note}`), "");
  for (const [name, block] of Object.entries(doc.results)) {
    lines.push(`## ${name}`, "");
    // Blocks of named runs become tables; anything else (a summary of ratios, say) is shown as JSON.
    const table = isRecord(block) ? formatLatencyTable(block) : undefined;
    lines.push(table ?? ["```json", JSON.stringify(block, null, 2), "```"].join("\n"), "");
  }
  return lines.join("\n");
}

/**
 * A markdown table of named runs: rows are runs, columns are req/s, tokens/s, then p50/p90/p99/max (ms) of every
 * latency summary the runs carry (`ttft`, `e2e`, `latency`, ...). Returns undefined when no value is a run.
 */
export function formatLatencyTable(rows: Readonly<Record<string, unknown>>): string | undefined {
  const runs = Object.entries(rows).filter(
    (entry): entry is [string, Record<string, unknown>] => isRecord(entry[1]) && isRun(entry[1]),
  );
  if (runs.length === 0) return undefined;
  const latencyKeys: string[] = [];
  for (const [, run] of runs) {
    for (const [key, value] of Object.entries(run)) {
      if (isLatencySummary(value) && !latencyKeys.includes(key)) latencyKeys.push(key);
    }
  }
  const header = ["run", "req/s", "tokens/s"];
  for (const key of latencyKeys) header.push(...PERCENTILES.map((p) => `${key} ${p} (ms)`));
  const lines = [row(header), row(header.map((_, i) => (i === 0 ? "---" : "---:")))];
  for (const [name, run] of runs) {
    const cells = [
      name.replaceAll("|", "\\|"),
      number(run["requestsPerSecond"]),
      number(run["completionTokensPerSecond"]),
    ];
    for (const key of latencyKeys) {
      const summary = run[key];
      cells.push(...PERCENTILES.map((p) => (isLatencySummary(summary) ? number(summary[p]) : "-")));
    }
    lines.push(row(cells));
  }
  return lines.join("\n");
}

const PERCENTILES = ["p50", "p90", "p99", "max"] as const;

function row(cells: readonly string[]): string {
  return `| ${cells.join(" | ")} |`;
}

/** Three significant figures or so: enough to compare runs, few enough to read. */
function number(value: unknown): string {
  if (typeof value !== "number" || !Number.isFinite(value)) return "-";
  const magnitude = Math.abs(value);
  return value.toFixed(magnitude >= 100 || value === 0 ? 0 : magnitude >= 10 ? 1 : 2);
}

function isRun(value: Record<string, unknown>): boolean {
  return (
    typeof value["requestsPerSecond"] === "number" ||
    typeof value["completionTokensPerSecond"] === "number" ||
    Object.values(value).some(isLatencySummary)
  );
}

function isLatencySummary(value: unknown): value is LatencySummary {
  return isRecord(value) && PERCENTILES.every((p) => typeof value[p] === "number");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
