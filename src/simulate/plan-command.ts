import { writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { HARDWARE_ALIASES, resolveHardwareName } from "../config/catalog/hardware.js";
import { modelProfile, PLAN_PRECISIONS, type PlanPrecision } from "./plan-options.js";
import type { PlanLoad, PlanResult } from "./plan-types.js";
import { plan } from "./planner.js";
import { parseSloTarget, type SloTarget } from "./slo-target.js";
import { isTraceFileError, traceArrivals } from "./trace.js";

const DEFAULT_GPUS = "H100-SXM-80GB,A100-80GB,L4";
const ALIASES = Object.entries(HARDWARE_ALIASES)
  .map(([alias, name]) => `${alias} = ${name}`)
  .join(", ");

export const PLAN_USAGE = `Options (plan; the command word comes first):
  --model PROFILE   Model catalog profile (e.g. Llama-3.1-8B). This or --models is required.
  --models LIST     Comma-separated model profiles, each planned on every option (e.g.
                    Llama-3.1-8B,Llama-3.1-70B); the table ranks them all by spend.
  --rate R          Mean arrival rate, requests per simulated second (Poisson). Required without --workload.
  --duration D      Simulated seconds of arrivals per trial (default 20).
  --workload FILE   Replay a JSONL trace (see src/simulate/trace.ts) in every trial instead of --rate and
                    --duration. Every line runs in the --slo class: the plan defines no other, so a line's
                    "class" is ignored (a note on stderr counts the lines that named another).
  --slo SPEC        CLASS:ttft_p99=0.5s,tpot_p99=0.05s (s or ms). Required.
  --gpus LIST       Comma-separated hardware names or aliases, any case (default ${DEFAULT_GPUS};
                    aliases: ${ALIASES}).
  --tp LIST         Tensor-parallel degrees to try (default 1,2,4,8).
  --precisions LIST Weight precisions to try (default bf16,fp8): bf16; fp8 (fp8 weights and KV cache, GPUs
                    with fp8 tensor cores only); int4 (weight-only INT4, bf16 KV cache).
  --max-replicas N  Largest fleet tried per option (default 64).
  --jobs N          Options searched at once, each in a worker thread (default: the CPUs Node reports,
                    at most 8). The plan does not depend on it.
  --seed S          Workload seed (default 1); with --workload, the prompt words only.
  --out FILE        Also write the JSON plan to FILE.`;

/** `tollgate plan`: the cheapest fleet per model and GPU option that meets p99 targets at a load. Returns the exit code. */
export async function planCommand(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>["values"];
  try {
    ({ values } = parse(argv));
  } catch (error) {
    return usageError((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(
      "Usage: tollgate plan (--model PROFILE | --models LIST) (--rate R | --workload FILE) --slo SPEC " +
        `[options]\n\n${PLAN_USAGE}\n`,
    );
    return 0;
  }
  const parsed = planArguments(values);
  if ("problems" in parsed) return usageError(parsed.problems.join("\n"));
  const { load, ...rest } = parsed;

  if (load.trace !== undefined) {
    // One pass over the whole trace first, so a bad line fails now rather than midway through the search.
    let checked: Awaited<ReturnType<typeof checkTrace>>;
    try {
      checked = await checkTrace({ file: load.trace, seed: rest.seed, sloClass: rest.slo.sloClass });
    } catch (error) {
      if (!isTraceFileError(error)) throw error;
      return workloadError((error as Error).message);
    }
    if (checked.requests === 0) return workloadError(`${load.trace} has no requests`);
    if (checked.otherClassLines > 0) {
      process.stderr.write(
        `tollgate plan: note: ${checked.otherClassLines} of ${checked.requests} trace lines name another ` +
          `class (${[...checked.otherClasses].join(", ")}); they run in "${rest.slo.sloClass}"\n`,
      );
    }
  }
  let result: PlanResult;
  try {
    result = await plan({ ...load, ...rest });
  } catch (error) {
    if (error instanceof RangeError) return usageError(error.message);
    // The file changed since the check.
    if (isTraceFileError(error)) return workloadError((error as Error).message);
    throw error;
  }
  process.stdout.write(planTable(result));
  if (values.out !== undefined) await writeFile(values.out, `${JSON.stringify(result, null, 2)}\n`);
  return 0;
}

type PlanValues = ReturnType<typeof parse>["values"];

interface PlanArguments {
  load: PlanLoad;
  profiles: string[];
  slo: SloTarget;
  gpus: string[];
  tensorParallel: number[];
  precisions: PlanPrecision[];
  maxReplicas: number;
  seed: number;
  jobs: number;
}

/** The plan's input from the flags, or every problem with them at once. */
function planArguments(values: PlanValues): PlanArguments | { problems: string[] } {
  const problems: string[] = [];
  const number = (flag: string, raw: string | undefined, integer: boolean) => {
    const value = Number(raw);
    if (!(Number.isFinite(value) && value > 0 && (!integer || Number.isInteger(value))))
      problems.push(`${flag} must be ${integer ? "an integer" : "a number"} > 0, got "${raw}"`);
    return value;
  };
  const listOf = (flag: string, raw: string) => {
    const items = [...new Set(raw.split(",").map((item) => item.trim()))].filter((item) => item !== "");
    if (items.length === 0) problems.push(`${flag} needs at least one item, got "${raw}"`);
    return items;
  };

  let load: PlanLoad | undefined;
  if (values.workload !== undefined) {
    if (values.rate !== undefined || values.duration !== undefined)
      problems.push("--workload replaces --rate and --duration: give one or the other");
    load = { trace: values.workload };
  } else if (values.rate === undefined) {
    problems.push("--rate or --workload is required");
  } else {
    load = {
      rate: number("--rate", values.rate, false),
      durationS: number("--duration", values.duration ?? "20", false),
    };
  }

  let profiles: string[] = [];
  if (values.model !== undefined && values.models !== undefined)
    problems.push("give --model or --models, not both");
  else if (values.model === undefined && values.models === undefined)
    problems.push("--model or --models is required");
  else profiles = values.models === undefined ? [values.model!] : listOf("--models", values.models);
  for (const profile of profiles) {
    try {
      modelProfile(profile);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }

  const precisions = listOf("--precisions", values.precisions ?? "bf16,fp8").filter(
    (p): p is PlanPrecision => {
      const known = (PLAN_PRECISIONS as readonly string[]).includes(p);
      if (!known)
        problems.push(`--precisions: unknown precision "${p}" (known: ${PLAN_PRECISIONS.join(", ")})`);
      return known;
    },
  );
  const gpus = listOf("--gpus", values.gpus ?? DEFAULT_GPUS);
  const tensorParallel = listOf("--tp", values.tp ?? "1,2,4,8").map((t) => number("--tp", t, true));
  const maxReplicas = number("--max-replicas", values["max-replicas"] ?? "64", true);
  const jobs = number("--jobs", values.jobs ?? String(Math.min(8, availableParallelism())), true);
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isInteger(seed)) problems.push(`--seed must be an integer, got "${values.seed}"`);
  let slo: SloTarget | undefined;
  if (values.slo === undefined) problems.push("--slo is required");
  else {
    try {
      slo = parseSloTarget(values.slo);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length > 0 || load === undefined || slo === undefined) return { problems };
  return { load, profiles, slo, gpus, tensorParallel, precisions, maxReplicas, seed, jobs };
}

/**
 * Reads every line of the trace (throwing its TraceError), counting the requests and those whose `class` is
 * not the planned one (matched as the scheduler does, ignoring case); keeps a few of those names to show.
 */
async function checkTrace(input: { file: string; seed: number; sloClass: string }) {
  let requests = 0;
  let otherClassLines = 0;
  const otherClasses = new Set<string>();
  for await (const arrival of traceArrivals({ file: input.file, seed: input.seed })) {
    requests++;
    const name = arrival.sloClass;
    if (name === undefined || name.trim().toLowerCase() === input.sloClass) continue;
    otherClassLines++;
    if (otherClasses.size < 5) otherClasses.add(name);
  }
  return { requests, otherClassLines, otherClasses };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      model: { type: "string" },
      models: { type: "string" },
      rate: { type: "string" },
      duration: { type: "string" },
      workload: { type: "string" },
      slo: { type: "string" },
      gpus: { type: "string" },
      tp: { type: "string" },
      precisions: { type: "string" },
      "max-replicas": { type: "string" },
      jobs: { type: "string" },
      seed: { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

function usageError(message: string): number {
  process.stderr.write(`tollgate plan: ${message}\n\n${PLAN_USAGE}\n`);
  return 2;
}

function workloadError(message: string): number {
  process.stderr.write(`tollgate plan: invalid workload: ${message}\n`);
  return 2;
}

/** A table for a person, cheapest first, then the options that missed or could not be built. */
export function planTable(result: PlanResult): string {
  const header = [
    "model",
    "GPU",
    "TP",
    "prec",
    "replicas",
    "$/hour",
    "$/1M out",
    "SLO att.",
    "TTFT p99 ms",
    "headroom",
  ];
  const rows = result.rows.map((r) => [
    r.profile,
    r.gpu,
    String(r.tensorParallel),
    r.precision,
    String(r.replicas),
    r.spendPerHourUsd.toFixed(2),
    r.costPerMillionOutputTokensUsd.toFixed(3),
    `${(r.sloAttainment * 100).toFixed(1)}%`,
    r.ttftP99Ms.toFixed(0),
    `${r.ttftHeadroom.toFixed(2)}x`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  const lines = [line(header), ...rows.map(line)];
  for (const u of result.unmet)
    lines.push(`unmet: ${u.profile} ${u.gpu} TP${u.tensorParallel} ${u.precision}: ${u.reason}`);
  const unknownGpus = new Set<string>();
  for (const s of result.skipped) {
    // An unknown GPU is skipped for every model, TP and precision: one line says so, with the known names.
    if (resolveHardwareName(s.gpu) === undefined) {
      if (!unknownGpus.has(s.gpu)) lines.push(`skipped: ${s.gpu}: ${s.reason}`);
      unknownGpus.add(s.gpu);
      continue;
    }
    lines.push(
      `skipped: ${s.profile} ${s.gpu} TP${s.tensorParallel} ${s.precision}: ${shortReason(s.reason)}`,
    );
  }
  lines.push(`${result.simulations} simulations in ${result.wallSeconds.toFixed(1)} s of wall time`);
  return `${lines.join("\n")}\n`;
}

/**
 * planMemory's messages begin with the setup ("<model> (<precision>) on <GPU> with tensor parallel <n>"),
 * which the line already shows, and may end with advice after "; ".
 */
function shortReason(reason: string): string {
  return reason.replace(/^.* with tensor parallel \d+ /, "").split("; ")[0]!;
}
