import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { plan } from "../../src/simulate/planner.js";
import type { SimulateOptions } from "../../src/simulate/runner.js";
import type { Arrival } from "../../src/simulate/workload.js";
import { fakeReport, SLO } from "./plan-fakes.js";

const dir = mkdtempSync(join(tmpdir(), "tollgate-plan-trace-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Three requests, one in the planned class (other case), one in a class the plan does not define, one in none. */
const TRACE = join(dir, "three.jsonl");
writeFileSync(
  TRACE,
  [
    { t: 0, prompt_tokens: 40, output_tokens: 8, class: "Interactive" },
    { t: 0.5, prompt_tokens: 20, output_tokens: 4, class: "batch", client: "tenant-7" },
    { t: 1, prompt_tokens: 30, output_tokens: 6 },
  ]
    .map((line) => JSON.stringify(line))
    .join("\n") + "\n",
);

const ONE_OPTION = {
  profiles: ["Qwen2.5-0.5B"],
  slo: SLO,
  seed: 1,
  gpus: ["L4"],
  tensorParallel: [1],
  precisions: ["bf16"] as const,
};

describe("plan with a trace", () => {
  it("replays the whole trace from a fresh iterable in every trial, with no Poisson rate", async () => {
    const iterables = new Set<AsyncIterable<Arrival>>();
    const seen: Arrival[][] = [];
    const workloads: SimulateOptions["workload"][] = [];
    const result = await plan({
      ...ONE_OPTION,
      trace: TRACE,
      simulate: async (options) => {
        expect(options.arrivals).toBeDefined();
        iterables.add(options.arrivals!);
        workloads.push(options.workload);
        const arrivals: Arrival[] = [];
        for await (const arrival of options.arrivals!) arrivals.push(arrival);
        seen.push(arrivals);
        const replicas = options.config.deployments[0]!.replicas;
        return fakeReport({ ttftMs: replicas >= 3 ? 100 : 500 + 1000 / replicas, tpotMs: 10 });
      },
    });
    // 1, 2, 4, then 3: four trials, four iterables, each the whole trace.
    expect(result.rows[0]).toMatchObject({ profile: "Qwen2.5-0.5B", gpu: "L4", replicas: 3 });
    expect(result.simulations).toBe(4);
    expect(iterables.size).toBe(4);
    for (const arrivals of seen) {
      expect(arrivals.map((a) => [a.atMs, a.promptTokens, a.outputTokens])).toEqual([
        [0, 40, 8],
        [500, 20, 4],
        [1000, 30, 6],
      ]);
      // The lines' classes are dropped: each runs in the plan's one (default) class.
      expect(arrivals.map((a) => a.sloClass)).toEqual([undefined, undefined, undefined]);
    }
    expect(seen[1]).toEqual(seen[0]);
    for (const workload of workloads)
      expect(workload).toMatchObject({ rate: 0, durationS: 0, model: "planned" });
  });

  it("meets the targets with the real simulator, lines of a class the plan does not define included", async () => {
    const result = await plan({
      ...ONE_OPTION,
      trace: TRACE,
      slo: { sloClass: "interactive", ttftMs: 2000, tpotMs: 200 },
    });
    expect(result.unmet).toEqual([]);
    expect(result.rows[0]).toMatchObject({ gpu: "L4", replicas: 1, sloAttainment: 1 });
    expect(result.simulations).toBe(1);
  });
});
