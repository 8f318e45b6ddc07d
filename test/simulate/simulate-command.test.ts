import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { simulateCommand } from "../../src/simulate/command.js";
import type { SimulationReport } from "../../src/simulate/runner.js";
import { traceFiles } from "../helpers/trace-files.js";

const { dir } = traceFiles("tollgate-simulate-cli-");

/** One model on two L4s, guard off: runs in a fraction of a second. */
const CONFIG = join(dir, "config.yaml");
writeFileSync(
  CONFIG,
  [
    "log: { level: silent }",
    "guard: { enabled: false }",
    "models: [{ id: qwen, profile: Qwen2.5-0.5B }]",
    "deployments: [{ name: l4, model: qwen, replicas: 2, backend: { type: simulated, hardware: L4 } }]",
  ].join("\n"),
);

let stderr = "";
beforeEach(() => {
  stderr = "";
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  vi.spyOn(process.stdout, "write").mockImplementation(() => true);
});
afterEach(() => vi.restoreAllMocks());

const run = (...argv: string[]) =>
  simulateCommand(["--config", CONFIG, ...argv], { defaultConfig: CONFIG, env: process.env });
const SYNTHETIC = ["--rate", "5", "--duration", "10"];

describe("tollgate simulate: workload flags", () => {
  it.each([
    [
      ["--shared-prefix", "0.5:4"],
      /--shared-prefix must be RATIO:COUNT:TOKENS \(e\.g\. 0\.5:4:512\), three numbers, got "0\.5:4"/,
    ],
    [["--shared-prefix", "1.5:4:512"], /--shared-prefix .*RATIO from 0 to 1, got "1\.5:4:512"/],
    [["--shared-prefix", "0.5:0:512"], /--shared-prefix .*COUNT an integer >= 1, got "0\.5:0:512"/],
    [["--shared-prefix", "0.5:4:x"], /--shared-prefix .*TOKENS an integer from 1 to 1048576/],
    [
      ["--shared-prefix", "0.5:4:1048000"],
      /--shared-prefix tokens \(1048000\) plus the longest prompt drawn \(8000\) must be at most 1048576/,
    ],
    [["--repeat-ratio", "2"], /--repeat-ratio must be a number from 0 to 1, got "2"/],
    [["--repeat-ratio", ""], /--repeat-ratio must be a number from 0 to 1, got ""/],
    [["--temperature", "3"], /--temperature must be a number from 0 to 2, got "3"/],
    [["--prompt-tokens", "0"], /--prompt-tokens must be MEDIAN\[:SIGMA\], MEDIAN from 1 to 1048576, got "0"/],
    [["--prompt-tokens", "100:1:2"], /--prompt-tokens must be MEDIAN\[:SIGMA\], one or two numbers/],
    [
      ["--output-tokens", "50:-1"],
      /--output-tokens must be MEDIAN\[:SIGMA\], SIGMA from 0 to 10, got "50:-1"/,
    ],
    [["--class-mix", "batch"], /--class-mix must be CLASS=WEIGHT,\.\.\. .*"batch" is not CLASS=WEIGHT/],
    [["--class-mix", "batch=1,batch=2"], /--class-mix .*batch is given twice/],
    [["--class-mix", "batch=-1"], /--class-mix .*batch's weight must be a number >= 0/],
    [["--class-mix", "batch=0"], /--class-mix .*at least one weight must be > 0/],
    [
      ["--class-mix", "gold=1,batch=1"],
      /--class-mix names unknown SLO class\(es\) gold; the config's: interactive, standard, batch/,
    ],
  ])("rejects %j with exit 2, the rule and the usage", async (flags, message) => {
    expect(await run(...SYNTHETIC, ...flags)).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toContain("Options (simulate;");
  });

  it("reports every bad flag at once, and refuses synthetic-only flags with --workload", async () => {
    expect(await run(...SYNTHETIC, "--repeat-ratio", "2", "--temperature", "x")).toBe(2);
    expect(stderr).toMatch(/--repeat-ratio must be .*\n.*--temperature must be/);
    stderr = "";
    expect(
      await run(
        "--workload",
        join(dir, "any.jsonl"),
        "--shared-prefix",
        "0.5:4:512",
        "--class-mix",
        "batch=1",
      ),
    ).toBe(2);
    expect(stderr).toMatch(
      /--workload replays a trace, which gives its own requests: drop --shared-prefix, --class-mix/,
    );
  });

  it("lists the new flags in its help", async () => {
    const out = vi.spyOn(process.stdout, "write");
    expect(await run("--help")).toBe(0);
    const help = out.mock.calls.map(([chunk]) => String(chunk)).join("");
    for (const flag of [
      "--prompt-tokens",
      "--output-tokens",
      "--shared-prefix",
      "--repeat-ratio",
      "--class-mix",
      "--temperature",
    ])
      expect(help).toContain(flag);
  });

  it("notes classes above the clients' own, which a request cannot ask for", async () => {
    expect(await run("--rate", "1", "--duration", "2", "--class-mix", "interactive=1,batch=1")).toBe(0);
    expect(stderr).toMatch(
      /note: --class-mix asks for interactive, above the simulated clients' class "standard"/,
    );
  });

  it("writes every knob to --trace-out, and replaying the trace sends the same requests", async () => {
    const trace = join(dir, "knobs.jsonl");
    const [first, second] = [join(dir, "synthetic.json"), join(dir, "replayed.json")];
    const knobs = [
      "--shared-prefix",
      "0.5:4:64",
      "--repeat-ratio",
      "0.3",
      "--class-mix",
      "standard=3,batch=1",
    ];
    const lengths = ["--prompt-tokens", "100:0.5", "--output-tokens", "20"];
    expect(
      await run(
        ...SYNTHETIC,
        "--seed",
        "3",
        ...knobs,
        ...lengths,
        "--temperature",
        "0",
        "--trace-out",
        trace,
        "--out",
        first,
      ),
    ).toBe(0);
    expect(await run("--workload", trace, "--seed", "3", "--temperature", "0", "--out", second)).toBe(0);
    const lines = readFileSync(trace, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => String(l["prefix_id"]).startsWith("shared-"))).toBe(true);
    expect(lines.some((l) => String(l["prefix_id"]).startsWith("#"))).toBe(true);
    expect(lines.some((l) => l["class"] === "batch")).toBe(true);
    const [a, b] = [first, second].map((file) => JSON.parse(readFileSync(file, "utf8")) as SimulationReport);
    expect(a!.requests).toBe(lines.length);
    for (const key of ["requests", "completed", "errors", "tokens", "classes", "cost"] as const)
      expect(b![key]).toEqual(a![key]);
    // Repeats at temperature 0 came from the cache, shared prefixes from the prefix caches.
    expect(a!.tokens.cachedPrompt).toBeGreaterThan(0);
    expect(a!.cost.perResponseBins[0]!.count).toBeGreaterThanOrEqual(
      lines.filter((l) => String(l["prefix_id"]).startsWith("#")).length,
    );
  });
});
