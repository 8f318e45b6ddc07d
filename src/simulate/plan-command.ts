import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { type PlanResult, parseSloTarget, plan } from "./planner.js";

export const PLAN_USAGE = `Options (plan; the command word comes first):
  --model PROFILE   Model catalog profile (e.g. Llama-3.1-8B). Required.
  --rate R          Mean arrival rate, requests per simulated second (Poisson). Required.
  --duration D      Simulated seconds of arrivals per trial (default 20).
  --slo SPEC        CLASS:ttft_p99=0.5s,tpot_p99=0.05s (s or ms). Required.
  --gpus LIST       Comma-separated hardware names (default H100-SXM-80GB,A100-80GB,L4).
  --tp LIST         Tensor-parallel degrees to try (default 1,2,4,8).
  --max-replicas N  Largest fleet tried per option (default 64).
  --seed S          Workload seed (default 1).
  --out FILE        Also write the JSON plan to FILE.`;

/** `tollgate plan`: the cheapest fleet per GPU option that meets p99 targets at a load. Returns the exit code. */
export async function planCommand(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>["values"];
  try {
    ({ values } = parse(argv));
  } catch (error) {
    return usageError((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(
      `Usage: tollgate plan --model PROFILE --rate R --slo SPEC [options]\n\n${PLAN_USAGE}\n`,
    );
    return 0;
  }
  const problems: string[] = [];
  const number = (flag: string, raw: string | undefined, fallback: number | undefined, integer: boolean) => {
    if (raw === undefined && fallback === undefined) problems.push(`${flag} is required`);
    const value = raw === undefined ? (fallback ?? 0) : Number(raw);
    if (!(Number.isFinite(value) && value > 0 && (!integer || Number.isInteger(value))))
      problems.push(`${flag} must be ${integer ? "an integer" : "a number"} > 0, got "${raw}"`);
    return value;
  };
  const rate = number("--rate", values.rate, undefined, false);
  const durationS = number("--duration", values.duration, 20, false);
  const maxReplicas = number("--max-replicas", values["max-replicas"], 64, true);
  const tensorParallel = (values.tp ?? "1,2,4,8").split(",").map((t) => number("--tp", t, undefined, true));
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isInteger(seed)) problems.push(`--seed must be an integer, got "${values.seed}"`);
  if (values.model === undefined) problems.push("--model is required");
  let slo: ReturnType<typeof parseSloTarget> | undefined;
  try {
    if (values.slo === undefined) problems.push("--slo is required");
    else slo = parseSloTarget(values.slo);
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (problems.length > 0 || slo === undefined || values.model === undefined)
    return usageError([...new Set(problems)].join("\n"));

  let result: PlanResult;
  try {
    result = await plan({
      profile: values.model,
      rate,
      durationS,
      slo,
      gpus: (values.gpus ?? "H100-SXM-80GB,A100-80GB,L4").split(","),
      tensorParallel,
      maxReplicas,
      seed,
    });
  } catch (error) {
    if (error instanceof RangeError) return usageError(error.message);
    throw error;
  }
  process.stdout.write(planTable(result));
  if (values.out !== undefined) await writeFile(values.out, `${JSON.stringify(result, null, 2)}\n`);
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      model: { type: "string" },
      rate: { type: "string" },
      duration: { type: "string" },
      slo: { type: "string" },
      gpus: { type: "string" },
      tp: { type: "string" },
      "max-replicas": { type: "string" },
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

/** A table for a person, cheapest first, then the options that missed or could not be built. */
export function planTable(result: PlanResult): string {
  const header = [
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
    lines.push(`unmet: ${u.gpu} TP${u.tensorParallel} ${u.precision}: ${u.reason}`);
  for (const s of result.skipped) {
    // planMemory's message ends with advice; the first clause says why.
    lines.push(`skipped: ${s.gpu} TP${s.tensorParallel} ${s.precision}: ${s.reason.split(" (")[0]}`);
  }
  lines.push(`${result.simulations} simulations in ${result.wallSeconds.toFixed(1)} s of wall time`);
  return `${lines.join("\n")}\n`;
}
