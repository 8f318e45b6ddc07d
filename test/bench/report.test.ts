import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { formatLatencyTable, type MachineInfo, machineInfo, writeResult } from "../../bench/lib/report.js";

const MACHINE: MachineInfo = {
  cpuModel: "Test CPU",
  cores: 8,
  totalMemoryBytes: 16 * 2 ** 30,
  node: "v20.0.0",
  platform: "linux 6.0 x64",
  commit: "abc1234",
};

const latency = (p50: number) => ({ count: 10, mean: p50, p50, p90: p50 * 2, p99: p50 * 3, max: p50 * 4 });

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("machineInfo", () => {
  it("describes this machine, with the commit from the given reader", () => {
    const info = machineInfo({ readCommit: () => "deadbee" });
    expect(info.commit).toBe("deadbee");
    expect(info.cores).toBeGreaterThan(0);
    expect(info.totalMemoryBytes).toBeGreaterThan(0);
    expect(info.node).toBe(process.version);
    expect(info.platform).toContain(process.platform);
    expect(info.cpuModel.length).toBeGreaterThan(0);
  });
});

describe("formatLatencyTable", () => {
  it("makes one row per run and p50/p90/p99/max columns per latency summary", () => {
    const table = formatLatencyTable({
      open: {
        requestsPerSecond: 1000,
        completionTokensPerSecond: 12_345.6,
        ttft: latency(1.234),
        e2e: latency(50),
      },
      closed: { requestsPerSecond: 9.876, latency: latency(0.5) },
    });
    expect(table!.split("\n")).toEqual([
      "| run | req/s | tokens/s | ttft p50 (ms) | ttft p90 (ms) | ttft p99 (ms) | ttft max (ms) | e2e p50 (ms) | e2e p90 (ms) | e2e p99 (ms) | e2e max (ms) | latency p50 (ms) | latency p90 (ms) | latency p99 (ms) | latency max (ms) |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
      "| open | 1000 | 12346 | 1.23 | 2.47 | 3.70 | 4.94 | 50.0 | 100 | 150 | 200 | - | - | - | - |",
      "| closed | 9.88 | - | - | - | - | - | - | - | - | - | 0.50 | 1.00 | 1.50 | 2.00 |",
    ]);
  });

  it("returns undefined when nothing in the block is a run", () => {
    expect(formatLatencyTable({ ratio: 0.8, detail: { note: "x" } })).toBeUndefined();
  });
});

describe("writeResult", () => {
  it("writes the JSON record and a markdown summary", () => {
    dir = mkdtempSync(join(tmpdir(), "tollgate-report-"));
    const files = writeResult({
      scenario: "steady-chat",
      command: "npm run bench -- steady-chat --quick",
      quick: true,
      config: { rate: 10 },
      results: {
        "open loop": { Tollgate: { requestsPerSecond: 10, e2e: latency(20) } },
        summary: { ratio: 0.5 },
      },
      notes: ["goal met"],
      dir,
      machine: MACHINE,
      startedAt: "2026-01-01T00:00:00.000Z",
    });
    expect(files).toEqual({ json: join(dir, "steady-chat.json"), markdown: join(dir, "steady-chat.md") });

    const json: unknown = JSON.parse(readFileSync(files.json, "utf8"));
    expect(json).toEqual({
      schema: 1,
      scenario: "steady-chat",
      startedAt: "2026-01-01T00:00:00.000Z",
      quick: true,
      machine: MACHINE,
      command: "npm run bench -- steady-chat --quick",
      config: { rate: 10 },
      results: {
        "open loop": { Tollgate: { requestsPerSecond: 10, e2e: latency(20) } },
        summary: { ratio: 0.5 },
      },
      notes: ["goal met"],
    });

    const markdown = readFileSync(files.markdown, "utf8");
    expect(markdown).toContain(
      "- Machine: Test CPU (8 cores, 16.0 GiB), Node v20.0.0, linux 6.0 x64, commit abc1234",
    );
    expect(markdown).toContain("- Command: `npm run bench -- steady-chat --quick` (quick)");
    expect(markdown).toContain("- goal met");
    expect(markdown).toContain("## open loop\n\n| run | req/s | tokens/s | e2e p50 (ms) |");
    expect(markdown).toContain("| Tollgate | 10.0 | - | 20.0 | 40.0 | 60.0 | 80.0 |");
    expect(markdown).toContain('## summary\n\n```json\n{\n  "ratio": 0.5\n}\n```');
  });

  it("refuses a scenario name that is not a safe file name", () => {
    expect(() =>
      writeResult({ scenario: "../x", command: "", quick: false, config: {}, results: {}, machine: MACHINE }),
    ).toThrow(/scenario/);
  });
});
