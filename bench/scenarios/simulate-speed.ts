import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SimulationReport } from "../../src/simulate/runner.js";
import type { Scenario } from "./types.js";

/**
 * How fast `tollgate simulate` runs, and whether its memory stays flat as a run gets longer: the built CLI
 * (`node dist/main.js simulate`, a process of its own, as a user runs it) simulates 200 requests/s over 16
 * replicas for increasing simulated durations, the longest one hour (720,000 requests). Each run's report gives
 * its wall time and the process's peak RSS. The goal in issue 9: one hour in under 10 s of wall time.
 */
const CONFIG = "bench/configs/simulate-fleet.yaml";
const RATE = 200;
const GOAL_WALL_S = 10;

interface Run {
  simulatedS: number;
  requests: number;
  completed: number;
  wallS: number;
  requestsPerWallS: number;
  simulatedPerWallS: number;
  peakRssMiB: number;
  sloAttainment: number;
  ttftP99Ms: number | undefined;
}

async function simulateOnce(durationS: number, dir: string): Promise<Run> {
  const out = join(dir, `report-${durationS}.json`);
  const args = ["dist/main.js", "simulate", "--config", CONFIG, "--rate", String(RATE)];
  args.push("--duration", String(durationS), "--seed", "1", "--out", out);
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "inherit"] });
    child.once("error", reject);
    child.once("exit", resolve);
  });
  if (code !== 0) throw new Error(`tollgate simulate exited with ${code}`);
  const report = JSON.parse(await readFile(out, "utf8")) as SimulationReport;
  return {
    simulatedS: durationS,
    requests: report.requests,
    completed: report.completed,
    wallS: round(report.wallSeconds, 2),
    requestsPerWallS: Math.round(report.requests / report.wallSeconds),
    simulatedPerWallS: round(report.simulatedSeconds / report.wallSeconds, 1),
    peakRssMiB: Math.round(report.peakRssBytes / 2 ** 20),
    sloAttainment: round(report.sloAttainment, 4),
    ttftP99Ms: report.classes["standard"]?.ttftMs.p99,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export const simulateSpeed: Scenario = {
  name: "simulate-speed",
  description: "Wall time and peak RSS of `tollgate simulate`: 200 req/s over 16 replicas, up to one hour",
  async run(context) {
    const durations = context.quick ? [10, 20] : [60, 600, 3600];
    const dir = await mkdtemp(join(tmpdir(), "tollgate-simulate-speed-"));
    const runs: Run[] = [];
    try {
      for (const durationS of durations) {
        context.log(`simulating ${durationS} s at ${RATE} req/s`);
        const run = await simulateOnce(durationS, dir);
        context.log(`${run.requests} requests in ${run.wallS} s, peak RSS ${run.peakRssMiB} MiB`);
        runs.push(run);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const longest = runs.at(-1)!;
    const shortest = runs[0]!;
    const notes = [
      `${longest.simulatedS} simulated s (${longest.requests} requests) took ${longest.wallS} s of wall time: ` +
        `${longest.requestsPerWallS} requests/s, ${longest.simulatedPerWallS} simulated s per wall s.`,
      `Peak RSS ${shortest.peakRssMiB} MiB at ${shortest.simulatedS} s, ${longest.peakRssMiB} MiB at ` +
        `${longest.simulatedS} s (${round(longest.simulatedS / shortest.simulatedS, 0)}x the requests).`,
    ];
    if (longest.simulatedS === 3600) {
      notes.push(
        longest.wallS <= GOAL_WALL_S
          ? `Goal met: one hour in ${longest.wallS} s (goal ${GOAL_WALL_S} s).`
          : `Goal missed: one hour took ${longest.wallS} s, ${round(longest.wallS / GOAL_WALL_S, 1)}x the ${GOAL_WALL_S} s goal.`,
      );
    }
    return {
      config: {
        config: CONFIG,
        fleet: "16 x Qwen2.5-0.5B bf16 on simulated L4",
        rateRequestsPerS: RATE,
        durationsS: durations,
        workload:
          "Poisson arrivals, chat lengths (prompt median 1,020, output median 129), guard on, 1,000 clients",
        command: `node dist/main.js simulate --config ${CONFIG} --rate ${RATE} --duration D --seed 1`,
      },
      results: { runs: Object.fromEntries(runs.map((r) => [`${r.simulatedS} s`, r])) },
      notes,
    };
  },
};
