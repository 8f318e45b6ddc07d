import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../config/load.js";
import { htmlReport } from "./html-report.js";
import { progressBar } from "./progress.js";
import { type SimulationReport, simulate } from "./runner.js";
import { isTraceFileError, traceArrivals, writeTrace } from "./trace.js";
import { arrivals, type WorkloadSpec } from "./workload.js";
import {
  raisedClassesNote,
  SYNTHETIC_ONLY_FLAGS,
  unknownClassesProblem,
  WORKLOAD_FLAG_OPTIONS,
  workloadShape,
} from "./workload-flags.js";

export const SIMULATE_USAGE = `Options (simulate; the command word comes first):
  --config FILE     YAML configuration (default: config/default.yaml).
  --rate R          Mean arrival rate, requests per simulated second (Poisson). Required without --workload.
  --duration D      Simulated seconds of arrivals. Required without --workload.
  --workload FILE   Replay a JSONL trace (see src/simulate/trace.ts) instead of --rate and --duration.
  --seed S          Workload seed (default 1): arrivals, lengths, prompt words, prefixes and repeats; with
                    --workload, prompt words only. The engines use the config's seed.
  --model ID        Model requested (default: the config's first model).
  --clients N       Distinct client addresses the guard sees (default 1000; with --workload, for lines
                    without a client).
  --prompt-tokens MEDIAN[:SIGMA]
                    User-message tokens: log-normal, median 1020, sigma 0.9 by default, clamped to 16..8000
                    (the clamps widen to take in a median outside them).
  --output-tokens MEDIAN[:SIGMA]
                    max_tokens, which the engines generate exactly: median 129, sigma 0.8 by default, clamped
                    to 1..1024 (likewise).
  --shared-prefix RATIO:COUNT:TOKENS
                    RATIO (0-1) of requests begin with one of COUNT shared prefixes of TOKENS tokens (uniform;
                    prefix ids shared-0.., as in traces), on top of their drawn length. The bench's chat
                    workload uses 0.5:4:512. Default: no sharing.
  --repeat-ratio R  R (0-1) of requests exactly repeat (prompt, max_tokens, class) one of the last 1,000
                    distinct requests. Default 0.
  --class-mix LIST  Each request asks for an SLO class drawn by weight, e.g. interactive=0.3,standard=0.5,
                    batch=0.2 (the config's classes; weights are normalised). A request can only lower its
                    client's class (anonymous clients: guard.anonymous.sloClass, else the default class).
  --temperature T   Sent with every request, 0-2 (default 1). At 0 the response cache (mode deterministic)
                    and single-flight coalescing act on repeats.
  --skip-guard      Do not pass requests through the guard.
  --out FILE        Also write the JSON report to FILE.
  --html FILE       Also write a self-contained HTML report (tables and SVG charts over time) to FILE.
  --trace-out FILE  Also write the workload as a JSONL trace (see src/simulate/trace.ts) to FILE; shared
                    prefixes and repeats are written as prefix_id lines ("#N" names the request repeated).`;

/** `tollgate simulate`: runs a synthetic workload through the pipeline on a virtual clock. Returns the exit code. */
export async function simulateCommand(
  argv: string[],
  options: {
    defaultConfig: string;
    /** Config overrides (PORT, HOST, REDIS_URL, see loadConfig); main.ts passes process.env. */
    env: Readonly<Record<string, string | undefined>>;
  },
): Promise<number> {
  let values: ReturnType<typeof parse>["values"];
  try {
    ({ values } = parse(argv));
  } catch (error) {
    return usageError((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(
      `Usage: tollgate simulate (--rate R --duration D | --workload FILE) [options]\n\n${SIMULATE_USAGE}\n`,
    );
    return 0;
  }
  const trace = values.workload;
  const rate = trace === undefined ? positiveNumber("--rate", values.rate) : 0;
  const duration = trace === undefined ? positiveNumber("--duration", values.duration) : 0;
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  const clients = values.clients === undefined ? 1000 : Number(values.clients);
  const problems = [rate, duration].filter((v): v is string => typeof v === "string");
  if (trace !== undefined && (values.rate !== undefined || values.duration !== undefined))
    problems.push("--workload replaces --rate and --duration: give one or the other");
  if (trace !== undefined && values["trace-out"] !== undefined)
    problems.push("--trace-out writes a synthetic workload; a --workload trace is already one");
  if (!Number.isInteger(seed)) problems.push(`--seed must be an integer, got "${values.seed}"`);
  if (!(Number.isInteger(clients) && clients >= 1 && clients < 2 ** 24))
    problems.push(`--clients must be an integer from 1 to 16777215, got "${values.clients}"`);
  const synthetic = SYNTHETIC_ONLY_FLAGS.filter((flag) => values[flag] !== undefined);
  if (trace !== undefined && synthetic.length > 0) {
    const flags = synthetic.map((flag) => `--${flag}`).join(", ");
    problems.push(`--workload replays a trace, which gives its own requests: drop ${flags}`);
  }
  const shaped = workloadShape(values);
  if ("problems" in shaped) problems.push(...shaped.problems);
  if (problems.length > 0 || "problems" in shaped) return usageError(problems.join("\n"));
  const { shape } = shaped;

  const file = values.config ?? options.defaultConfig;
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ file, env: options.env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`tollgate simulate: invalid configuration in ${file}\n`);
    for (const problem of error.problems) process.stderr.write(`  ${problem}\n`);
    return 2;
  }
  // Checked against the config before the run: the pipeline would answer each such request with a 400.
  const unknown = unknownClassesProblem(shape.sloClassMix, config);
  if (unknown !== undefined) return usageError(unknown);
  const note = raisedClassesNote({ mix: shape.sloClassMix, config, guard: !values["skip-guard"] });
  if (note !== undefined) process.stderr.write(`tollgate simulate: ${note}\n`);
  // With --workload, rate, durationS and the shape's lengths, prefixes, repeats and classes are unused: the
  // trace gives the arrivals.
  const workload: WorkloadSpec = {
    rate: rate as number,
    durationS: duration as number,
    model: values.model ?? config.models[0]!.id,
    ...shape,
    clients,
  };
  // Written first, from its own pass over the generator, so the trace exists even if the run fails.
  if (values["trace-out"] !== undefined)
    await writeTrace({ arrivals: arrivals(workload, seed), file: values["trace-out"] });
  let report: SimulationReport;
  const progress = progressBar({ stream: process.stderr });
  try {
    if (trace !== undefined) {
      // A first pass checks every line, so a bad one fails in seconds rather than after the run it would cut short.
      for await (const _ of traceArrivals({ file: trace, seed, clients })) {
      }
    }
    report = await simulate({
      config,
      seed,
      guard: !values["skip-guard"],
      workload,
      onProgress: progress.update,
      ...(trace !== undefined && { arrivals: traceArrivals({ file: trace, seed, clients }) }),
    });
  } catch (error) {
    if (!isTraceFileError(error)) throw error;
    process.stderr.write(`tollgate simulate: invalid workload: ${(error as Error).message}\n`);
    return 2;
  } finally {
    progress.done();
  }
  process.stdout.write(summary(report));
  if (values.out !== undefined) await writeFile(values.out, `${JSON.stringify(report, null, 2)}\n`);
  if (values.html !== undefined) await writeFile(values.html, htmlReport(report));
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      config: { type: "string" },
      rate: { type: "string" },
      duration: { type: "string" },
      workload: { type: "string" },
      seed: { type: "string" },
      model: { type: "string" },
      clients: { type: "string" },
      "skip-guard": { type: "boolean" },
      out: { type: "string" },
      html: { type: "string" },
      "trace-out": { type: "string" },
      ...WORKLOAD_FLAG_OPTIONS,
      help: { type: "boolean", short: "h" },
    },
  });
}

/** The number, or a message saying what is wrong with the flag. */
function positiveNumber(flag: string, raw: string | undefined): number | string {
  if (raw === undefined) return `${flag} is required`;
  const value = Number(raw);
  return Number.isFinite(value) && value > 0 ? value : `${flag} must be a number > 0, got "${raw}"`;
}

function usageError(message: string): number {
  process.stderr.write(`tollgate simulate: ${message}\n\n${SIMULATE_USAGE}\n`);
  return 2;
}

/** A few lines for a person; the JSON report has everything. */
export function summary(report: SimulationReport): string {
  const ms = (v: number) => `${v.toFixed(v < 10 ? 1 : 0)}`;
  const errors = Object.entries(report.errors)
    .map(([code, n]) => `${code} ${n}`)
    .join(", ");
  const lines = [
    `requests ${report.requests}, completed ${report.completed}${errors === "" ? "" : `, errors: ${errors}`}`,
    `simulated ${report.simulatedSeconds.toFixed(1)} s in ${report.wallSeconds.toFixed(2)} s of wall time (${Math.round(report.requests / report.wallSeconds)} requests/s), peak RSS ${(report.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
    `SLO attainment ${(report.sloAttainment * 100).toFixed(1)}%, goodput ${report.goodputPerSecond.toFixed(2)} req/s, ` +
      `throughput ${report.throughputTokensPerSecond.toFixed(0)} output tokens/s`,
    `cost per response $${report.cost.meanPerResponseUsd.toPrecision(3)}, spend $${report.cost.spendUsd.toFixed(4)}`,
  ];
  for (const [name, c] of Object.entries(report.classes)) {
    lines.push(
      `  ${name}: ${c.completed}/${c.requests} done, SLO ${(c.sloAttainment * 100).toFixed(1)}%; ms p50/p90/p99 ` +
        `TTFT ${ms(c.ttftMs.p50)}/${ms(c.ttftMs.p90)}/${ms(c.ttftMs.p99)} ` +
        `TPOT ${ms(c.tpotMs.p50)}/${ms(c.tpotMs.p90)}/${ms(c.tpotMs.p99)} ` +
        `e2e ${ms(c.e2eMs.p50)}/${ms(c.e2eMs.p90)}/${ms(c.e2eMs.p99)}`,
    );
  }
  return `${lines.join("\n")}\n`;
}
