import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { json } from "../helpers/json.js";

/** The compiled CLI, as `npm start` runs it (`npm test` builds first, see the pretest script). */
const MAIN = "dist/main.js";

function run(args: string[]) {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", timeout: 15_000 });
}

let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill("SIGKILL");
  child = undefined;
});

describe("tollgate CLI", () => {
  it("prints usage with --help", () => {
    const result = run(["--help"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("Usage: tollgate");
    expect(result.stdout).toContain("--config FILE");
  });

  it("exits 2 with one line per bad field for a bad config", () => {
    const dir = mkdtempSync(join(tmpdir(), "tollgate-cli-"));
    const file = join(dir, "bad.yaml");
    writeFileSync(
      file,
      "server:\n  port: -5\nmodels:\n  - id: m\n    profile: Nope\ndeployments:\n  - name: d\n    model: m\n    replicas: 0\n    backend: { type: simulated, hardware: L4 }\n",
    );
    const result = run(["--config", file]);
    expect(result.status).toBe(2);
    const lines = result.stderr.trim().split("\n");
    expect(lines[0]).toBe(`tollgate: invalid configuration in ${file}`);
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^ {2}server\.port: /),
      expect.stringMatching(/^ {2}deployments\.0\.replicas: /),
    ]);
  });

  it("exits 2 on an unknown option", () => {
    const result = run(["--bogus"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("Usage: tollgate");
  });

  it("serves the default config on the given port and drains on SIGTERM", async () => {
    child = spawn(process.execPath, [MAIN, "serve", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    const lines = createInterface({ input: child.stdout! });
    const port = await new Promise<number>((resolve, reject) => {
      lines.on("line", (line) => {
        const record = JSON.parse(line) as { port?: number; msg: string };
        if (record.port !== undefined) resolve(record.port);
      });
      child!.once("exit", (code) => reject(new Error(`exited early with ${code}`)));
    });
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "qwen2.5-0.5b-instruct",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 4,
      }),
    });
    expect(res.status).toBe(200);
    expect((await json(res)).usage.completion_tokens).toBeLessThanOrEqual(4);
    const exited = new Promise<number | null>((resolve) => child!.once("exit", resolve));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});
