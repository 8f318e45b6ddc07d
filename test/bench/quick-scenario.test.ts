import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeResult } from "../../bench/lib/report.js";
import { steadyChat } from "../../bench/scenarios/steady-chat.js";
import type { Json } from "../helpers/json.js";

/**
 * One scenario end to end, as `npm run bench -- steady-chat --quick` runs it: the compiled gateway in a child
 * process on an ephemeral port, autocannon against it, a result file written and read back.
 */
describe("bench: steady-chat --quick", () => {
  it("writes a well-formed result in which every request got a valid response", {
    timeout: 60_000,
  }, async () => {
    const output = await steadyChat.run({ quick: true, log: () => undefined });
    const dir = mkdtempSync(join(tmpdir(), "tollgate-bench-"));
    const files = writeResult({
      scenario: "steady-chat",
      command: "npm run bench -- steady-chat --quick",
      quick: true,
      config: output.config,
      results: output.results,
      notes: output.notes,
      dir,
    });
    const result: Json = JSON.parse(readFileSync(files.json, "utf8"));
    expect(result).toMatchObject({ schema: 1, scenario: "steady-chat", quick: true });
    expect(result.machine.cores).toBeGreaterThan(0);
    expect(typeof result.machine.node).toBe("string");
    const run = result.results["closed loop"]["Tollgate, 2 x H100 Llama-3.1-8B"];
    expect(run.requests).toBeGreaterThan(0);
    expect(run.non2xx).toBe(0);
    expect(run.errors).toBe(0);
    expect(run.timeouts).toBe(0);
    expect(run.completionTokensPerSecond).toBeGreaterThan(0);
    expect(run.latency.p50).toBeGreaterThan(0);
    expect(run.latency.p99).toBeGreaterThanOrEqual(run.latency.p50);
    expect(readFileSync(files.markdown, "utf8")).toContain("| Tollgate, 2 x H100 Llama-3.1-8B |");
  });
});
