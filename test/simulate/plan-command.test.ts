import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { planCommand, planTable } from "../../src/simulate/plan-command.js";
import type { PlanResult } from "../../src/simulate/plan-types.js";
import { traceFiles } from "../helpers/trace-files.js";

const { dir, write: traceFile } = traceFiles("tollgate-plan-command-");

let stdout = "";
let stderr = "";
beforeEach(() => {
  stdout = "";
  stderr = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

const SLO = ["--slo", "interactive:ttft_p99=2s,tpot_p99=0.2s"];
/** A light load on one small option: the real simulator plans it in a few hundred ms. */
const SMALL = ["--gpus", "l4", "--tp", "1", "--precisions", "bf16", ...SLO];

describe("plan command usage errors", () => {
  it.each([
    [
      ["--model", "Qwen2.5-0.5B", "--workload", "w.jsonl", "--rate", "2", ...SLO],
      /--workload replaces --rate/,
    ],
    [["--model", "Qwen2.5-0.5B", "--workload", "w.jsonl", "--duration", "5", ...SLO], /and --duration/],
    [["--model", "Qwen2.5-0.5B", ...SLO], /--rate or --workload is required/],
    [
      ["--model", "Qwen2.5-0.5B", "--models", "Llama-3.1-8B", "--rate", "2", ...SLO],
      /--model or --models, not/,
    ],
    [["--rate", "2", ...SLO], /--model or --models is required/],
    [["--models", "Llama-3.1-8B,GPT-5", "--rate", "2", ...SLO], /unknown model profile "GPT-5" \(known: /],
    [
      ["--model", "Qwen2.5-0.5B", "--rate", "2", "--precisions", "bf16,int8", ...SLO],
      /--precisions: unknown precision "int8" \(known: bf16, fp8, int4\)/,
    ],
    [["--model", "Qwen2.5-0.5B", "--rate", "2", "--gpus", " , ", ...SLO], /--gpus needs at least one item/],
    [["--model", "Qwen2.5-0.5B", "--rate", "0", ...SLO], /--rate must be a number > 0, got "0"/],
    [["--model", "Qwen2.5-0.5B", "--rate", "2", "--bogus"], /Unknown option '--bogus'/],
  ])("%j exits 2 saying %s, with the usage", async (argv, message) => {
    expect(await planCommand(argv)).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toContain("--precisions LIST");
    expect(stdout).toBe("");
  });

  it("reports every problem at once", async () => {
    expect(await planCommand(["--model", "Nope", "--precisions", "fp4", "--slo", "x"])).toBe(2);
    expect(stderr).toMatch(/--rate or --workload is required/);
    expect(stderr).toMatch(/unknown model profile "Nope"/);
    expect(stderr).toMatch(/unknown precision "fp4"/);
    expect(stderr).toMatch(/--slo must look like/);
  });

  it("lists the flags and the GPU aliases in --help", async () => {
    expect(await planCommand(["--help"])).toBe(0);
    expect(stdout).toContain("--models LIST");
    expect(stdout).toContain("--workload FILE");
    expect(stdout).toContain("H100 = H100-SXM-80GB, H200 = H200-SXM-141GB, A100 = A100-80GB");
  });
});

describe("plan command with --workload", () => {
  it("exits 2 at a bad trace line, naming the file and line, before any simulation", async () => {
    const file = traceFile([
      { t: 0, prompt_tokens: 5, output_tokens: 3 },
      { t: 1, prompt_tokens: 0 },
    ]);
    expect(await planCommand(["--model", "Qwen2.5-0.5B", "--workload", file, ...SMALL])).toBe(2);
    expect(stderr).toMatch(new RegExp(`^tollgate plan: invalid workload: ${file}:2: prompt_tokens: `));
    expect(stderr).not.toContain("Options (plan");
    expect(stdout).toBe("");
  });

  it("exits 2 for a missing or empty trace", async () => {
    expect(await planCommand(["--model", "Qwen2.5-0.5B", "--workload", join(dir, "none"), ...SMALL])).toBe(2);
    expect(stderr).toMatch(/invalid workload: ENOENT/);
    stderr = "";
    const empty = traceFile([""]);
    expect(await planCommand(["--model", "Qwen2.5-0.5B", "--workload", empty, ...SMALL])).toBe(2);
    expect(stderr).toBe(`tollgate plan: invalid workload: ${empty} has no requests\n`);
  });

  it("plans the trace, runs other classes' lines in the planned class, and writes the JSON", async () => {
    const file = traceFile([
      { t: 0, prompt_tokens: 40, output_tokens: 8, class: "interactive" },
      { t: 0.25, prompt_tokens: 20, output_tokens: 4, class: "batch" },
      { t: 0.5, prompt_tokens: 30, output_tokens: 6 },
    ]);
    const out = join(dir, "plan.json");
    expect(await planCommand(["--models", "Qwen2.5-0.5B", "--workload", file, ...SMALL, "--out", out])).toBe(
      0,
    );
    expect(stderr).toBe(
      'tollgate plan: note: 1 of 3 trace lines name another class (batch); they run in "interactive"\n',
    );
    expect(stdout).toMatch(/^model +GPU +TP +prec +replicas/);
    expect(stdout).toMatch(/^Qwen2\.5-0\.5B {2}L4 {3}1 {3}bf16 {2}1 /m);
    const json = JSON.parse(readFileSync(out, "utf8")) as PlanResult;
    expect(json.rows).toEqual([
      expect.objectContaining({ profile: "Qwen2.5-0.5B", gpu: "L4", tensorParallel: 1, replicas: 1 }),
    ]);
  });
});

describe("planTable", () => {
  it("leads with the model, prints an unknown GPU once and memory reasons without the setup", () => {
    const row = {
      tensorParallel: 1,
      precision: "bf16" as const,
      replicas: 2,
      gpuCount: 2,
      spendPerHourUsd: 1.6,
      costPerMillionOutputTokensUsd: 0.5,
      sloAttainment: 1,
      ttftP99Ms: 250,
      tpotP99Ms: 20,
      ttftHeadroom: 2,
      evaluations: 3,
    };
    const unknown = "unknown hardware (known: L4; aliases: H100 = H100-SXM-80GB)";
    const result: PlanResult = {
      rows: [
        { ...row, profile: "Qwen2.5-0.5B", gpu: "L4" },
        { ...row, profile: "Llama-3.1-8B", gpu: "L4", replicas: 4, gpuCount: 4, spendPerHourUsd: 3.2 },
      ],
      unmet: [
        { profile: "Llama-3.1-8B", gpu: "L4", tensorParallel: 2, precision: "int4", reason: "latency floor" },
      ],
      skipped: [
        { profile: "Qwen2.5-0.5B", gpu: "TPU", tensorParallel: 1, precision: "bf16", reason: unknown },
        { profile: "Llama-3.1-8B", gpu: "TPU", tensorParallel: 1, precision: "fp8", reason: unknown },
        {
          profile: "Llama-3.1-70B",
          gpu: "A100-80GB",
          tensorParallel: 1,
          precision: "bf16",
          reason:
            "Llama-3.1-70B (bf16) on A100-80GB with tensor parallel 1 does not fit: 141.20 GB of weights per GPU " +
            "exceeds 72.00 GB usable (80.00 GB x gpuMemoryUtilization 0.9); raise tensorParallel, quantise, or pick " +
            "a larger GPU",
        },
      ],
      simulations: 6,
      wallSeconds: 0.5,
    };
    expect(planTable(result).split("\n")).toEqual([
      "model         GPU  TP  prec  replicas  $/hour  $/1M out  SLO att.  TTFT p99 ms  headroom",
      "Qwen2.5-0.5B  L4   1   bf16  2         1.60    0.500     100.0%    250          2.00x",
      "Llama-3.1-8B  L4   1   bf16  4         3.20    0.500     100.0%    250          2.00x",
      "unmet: Llama-3.1-8B L4 TP2 int4: latency floor",
      `skipped: TPU: ${unknown}`,
      "skipped: Llama-3.1-70B A100-80GB TP1 bf16: does not fit: 141.20 GB of weights per GPU exceeds 72.00 GB " +
        "usable (80.00 GB x gpuMemoryUtilization 0.9)",
      "6 simulations in 0.5 s of wall time",
      "",
    ]);
  });
});
