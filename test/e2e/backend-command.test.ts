import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { compose } from "../../src/compose.js";
import { parseConfig } from "../../src/config/load.js";
import { SystemClock } from "../../src/core/clock.js";
import { json } from "../helpers/json.js";
import { parsePrometheusText, type Sample, sampleValue } from "../helpers/prometheus.js";

/** The compiled CLI, as `npm start` runs it (`npm test` builds first, see the pretest script). */
const MAIN = "dist/main.js";
const MODEL = "qwen2.5-0.5b";

let child: ChildProcess | undefined;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  child?.kill("SIGKILL");
  child = undefined;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function run(args: string[]) {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", timeout: 15_000 });
}

/** Starts `tollgate backend` and resolves with the port from its JSON start-up line. */
function startBackend(args: string[]): Promise<{ port: number; record: Record<string, unknown> }> {
  child = spawn(process.execPath, [MAIN, "backend", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const started = child;
  const lines = createInterface({ input: started.stdout! });
  return new Promise((resolve, reject) => {
    lines.on("line", (line) => {
      const record = JSON.parse(line) as { port?: number };
      if (record.port !== undefined) resolve({ port: record.port, record });
    });
    started.once("exit", (code) => reject(new Error(`exited early with ${code}`)));
  });
}

/**
 * The vllm:* samples of a live /metrics. Only those lines are parsed: prom-client prints the Node.js event-loop
 * gauges as `Nan` before their first sample, which Prometheus reads (Go's ParseFloat ignores case) but the
 * strict test parser does not.
 */
async function scrapeVllm(port: number): Promise<Sample[]> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  const vllmLines = text.split("\n").filter((line) => /^(# (HELP|TYPE) )?vllm:/.test(line));
  return parsePrometheusText(vllmLines.join("\n"));
}

async function vllmCounter(port: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sampleValue(await scrapeVllm(port), name, { model_name: MODEL, ...labels });
}

/** One small, fast replica on an ephemeral port. */
const QWEN_ON_H100 = ["--profile", "Qwen2.5-0.5B", "--gpu", "H100-SXM-80GB", "--port", "0"];

describe("tollgate backend", () => {
  it("serves one simulated replica with vLLM's metrics, and drains on SIGTERM", async () => {
    const { port, record } = await startBackend(QWEN_ON_H100);
    expect(record).toMatchObject({ role: "backend", models: [MODEL], gpu: "H100-SXM-80GB" });
    const models = await json(await fetch(`http://127.0.0.1:${port}/v1/models`));
    expect(models.data.map((m: { id: string }) => m.id)).toEqual([MODEL]);

    const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 8 }),
    });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
    expect(await vllmCounter(port, "vllm:generation_tokens_total")).toBe(body.usage.completion_tokens);
    expect(await vllmCounter(port, "vllm:prompt_tokens_total")).toBe(body.usage.prompt_tokens);

    const exited = new Promise<number | null>((resolve) => child!.once("exit", resolve));
    child!.kill("SIGTERM");
    expect(await exited).toBe(0);
  });

  it("is reached by a gateway through its openai-http backend", async () => {
    const { port } = await startBackend(QWEN_ON_H100);
    const gateway = compose({
      config: parseConfig({
        models: [{ id: "qwen", profile: "Qwen2.5-0.5B" }],
        deployments: [
          {
            name: "remote-h100",
            model: "qwen",
            backend: { type: "openai-http", url: `http://127.0.0.1:${port}`, upstreamModel: MODEL },
          },
        ],
      }),
      clock: new SystemClock(),
      logger: pino({ level: "silent" }),
      processMetrics: false,
    });
    cleanups.push(() => gateway.gateway.close());
    const before = await vllmCounter(port, "vllm:generation_tokens_total");

    const res = await gateway.app.request("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "qwen", messages: [{ role: "user", content: "hello" }], max_tokens: 6 }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-tollgate-deployment")).toBe("remote-h100");
    const body = await json(res);
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
    expect((await vllmCounter(port, "vllm:generation_tokens_total")) - before).toBe(
      body.usage.completion_tokens,
    );
    expect(await vllmCounter(port, "vllm:request_success_total")).toBe(1);
  });

  it("exits 2 with one line per bad flag, all at once", () => {
    const result = run([
      ...["backend", "--profile", "Nope", "--gpu", "H100-SXM-80GB"],
      ...["--tp", "x", "--precision", "fp4"],
    ]);
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split("\n")).toEqual([
      'tollgate backend: --tp "x": expected a number',
      expect.stringMatching(/^tollgate backend: --profile "Nope": unknown model profile "Nope" \(known: /),
      expect.stringMatching(/^tollgate backend: --precision "fp4": /),
    ]);
  });

  it("exits 2 when the replica cannot exist (weights that do not fit the GPU)", () => {
    const result = run(["backend", "--profile", "Llama-3.1-70B", "--gpu", "L4", "--port", "0"]);
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^tollgate backend: deployments\.0 \(llama-3\.1-70b-l4\): .*Llama-3\.1-70B/),
    ]);
  });

  it("documents itself in --help", () => {
    const result = run(["backend", "--help"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("tollgate backend --profile MODEL --gpu HARDWARE");
    expect(result.stdout).toContain("--precision P");
  });
});
