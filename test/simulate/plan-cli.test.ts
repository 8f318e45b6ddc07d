import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/** The compiled CLI, as `npm start` runs it (`npm test` builds first, see the pretest script). */
const MAIN = "dist/main.js";

describe("tollgate plan (compiled CLI)", () => {
  it("plans a light load on one L4 with the real simulator and prints its row", () => {
    const result = spawnSync(
      process.execPath,
      [
        MAIN,
        "plan",
        "--model",
        "Qwen2.5-0.5B",
        "--rate",
        "2",
        "--duration",
        "5",
        "--gpus",
        "l4",
        "--tp",
        "1",
        "--precisions",
        "bf16",
        "--slo",
        "interactive:ttft_p99=2s,tpot_p99=0.2s",
      ],
      { encoding: "utf8", timeout: 15_000 },
    );
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^model +GPU +TP +prec +replicas +\$\/hour/);
    // The alias is shown under its catalog name; one replica suffices at 2 requests/s.
    expect(lines[1]).toMatch(/^Qwen2\.5-0\.5B +L4 +1 +bf16 +1 +0\.80 /);
    expect(lines.at(-1)).toMatch(/^1 simulations in \d+\.\d s of wall time$/);
  });

  it("gives the same plan searched in two worker threads as in one thread", () => {
    const dir = mkdtempSync(join(tmpdir(), "tollgate-plan-jobs-"));
    try {
      const planWith = (jobs: number) => {
        const out = join(dir, `plan-${jobs}.json`);
        const result = spawnSync(
          process.execPath,
          [
            MAIN,
            "plan",
            ...["--model", "Qwen2.5-0.5B", "--rate", "4", "--duration", "5", "--gpus", "L4,A10"],
            ...["--tp", "1", "--precisions", "bf16", "--slo", "interactive:ttft_p99=2s,tpot_p99=0.2s"],
            ...["--jobs", String(jobs), "--out", out],
          ],
          { encoding: "utf8", timeout: 30_000 },
        );
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        const { wallSeconds: _wall, ...plan } = JSON.parse(readFileSync(out, "utf8")) as Record<
          string,
          unknown
        >;
        return plan;
      };
      const one = planWith(1);
      expect((one["rows"] as unknown[]).length).toBe(2);
      expect(planWith(2)).toEqual(one);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
