import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_EFFICIENCY_SETTINGS } from "../../src/backends/simulated/defaults.js";
import { ConfigError, loadConfig, parseConfig } from "../../src/config/load.js";

const minimal = {
  models: [{ id: "m", profile: "Qwen2.5-0.5B" }],
  deployments: [{ name: "d", model: "m", backend: { type: "simulated", hardware: "H100-SXM-80GB" } }],
};

function problemsOf(raw: unknown): readonly string[] {
  try {
    parseConfig(raw);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

function writeTemp(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-config-"));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe("config", () => {
  it("fills defaults and freezes the result", () => {
    const config = parseConfig(minimal);
    expect(config.server.port).toBe(8080);
    expect(config.server.bodyLimitBytes).toBe(1_048_576);
    expect(config.defaults.efficiency.mbu).toBe(0.8);
    // The schema's defaults and the engine's are one calibrated set.
    expect(config.defaults.efficiency).toEqual(DEFAULT_EFFICIENCY_SETTINGS);
    expect(config.defaults.engine).toEqual({});
    expect(config.deployments[0]!.replicas).toBe(1);
    const backend = config.deployments[0]!.backend;
    expect(backend.type === "simulated" && backend.tensorParallel).toBe(1);
    expect(config.models[0]!.routing.policy).toBe("least-outstanding");
    expect(config.models[0]!.routing.retries.maxAttempts).toBe(3);
    expect(Object.isFrozen(config.deployments[0]!.backend)).toBe(true);
  });

  it("reports every bad field at once, one line each, with its path", () => {
    const problems = problemsOf({
      server: { port: 70_000, bodyLimitBytes: -1 },
      models: [{ id: "m", profile: "GPT-9" }],
      deployments: [
        { name: "d", model: "m", replicas: 0, backend: { type: "simulated", hardware: "H100-SXM-80GB" } },
      ],
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^server\.port: /),
        expect.stringMatching(/^server\.bodyLimitBytes: /),
        expect.stringMatching(/^deployments\.0\.replicas: /),
      ]),
    );
    expect(problems).toHaveLength(3);
  });

  it("checks references between sections and to the catalogs", () => {
    const problems = problemsOf({
      models: [
        { id: "m", profile: "GPT-9" },
        { id: "m", profile: "Llama-3.1-8B" },
        { id: "orphan", profile: "Llama-3.1-8B" },
      ],
      deployments: [
        { name: "d", model: "m", backend: { type: "simulated", hardware: "TPU-v9" } },
        { name: "d", model: "nope", backend: { type: "simulated", hardware: "L4" } },
      ],
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('models.0.profile: unknown model profile "GPT-9"'),
        expect.stringContaining('models.1.id: duplicate model id "m"'),
        expect.stringContaining('deployments.0.backend.hardware: unknown hardware "TPU-v9"'),
        expect.stringContaining('deployments.1.name: duplicate deployment name "d"'),
        expect.stringContaining('deployments.1.model: no model with id "nope"'),
        expect.stringContaining('models.2: no deployment serves model "orphan"'),
      ]),
    );
  });

  it("refuses timeouts Node would refuse, and an admin API that requires a key it was not given", () => {
    expect(problemsOf({ ...minimal, server: { headersTimeoutMs: 5_000, requestTimeoutMs: 4_000 } })).toEqual([
      expect.stringContaining("server.headersTimeoutMs: 5000 is longer than server.requestTimeoutMs (4000)"),
    ]);
    expect(problemsOf({ ...minimal, admin: { requireKey: true } })).toEqual([
      "admin.requireKey: true needs admin.key (or admin.enabled: false)",
    ]);
    expect(problemsOf({ ...minimal, admin: { requireKey: true, key: "sixteen-chars-or-more" } })).toEqual([]);
    expect(parseConfig(minimal).server).toMatchObject({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      bodyIdleTimeoutMs: 10_000,
      keepAliveTimeoutMs: 5_000,
    });
  });

  it("rejects unknown keys (typos) instead of ignoring them", () => {
    expect(problemsOf({ ...minimal, sever: { port: 1 } })).toEqual([expect.stringContaining("sever")]);
  });

  it("accepts custom catalog entries", () => {
    const config = parseConfig({
      ...minimal,
      catalog: {
        hardware: {
          "X-1": {
            memoryBytes: 1e11,
            memoryBandwidthBytesPerS: 1e12,
            peakFlops: { bf16: 1e14 },
            pricePerGpuHourUsd: 1,
          },
        },
      },
      deployments: [{ name: "d", model: "m", backend: { type: "simulated", hardware: "X-1" } }],
    });
    expect(config.catalog.hardware["X-1"]?.source).toBe("config");
  });

  it("loads YAML, with PORT from the environment and --port winning over both", () => {
    const file = writeTemp(
      "c.yaml",
      "server:\n  port: 9000\nmodels:\n  - id: m\n    profile: Qwen2.5-0.5B\ndeployments:\n  - name: d\n    model: m\n    backend: { type: simulated, hardware: L4 }\n",
    );
    expect(loadConfig({ file }).server.port).toBe(9000);
    expect(loadConfig({ file, env: { PORT: "9100" } }).server.port).toBe(9100);
    expect(loadConfig({ file, env: { PORT: "9100" }, overrides: { port: 9200 } }).server.port).toBe(9200);
  });

  it("says which line of the YAML is broken", () => {
    const file = writeTemp("bad.yaml", "models:\n  - id: m\n   profile: [\n");
    expect(() => loadConfig({ file })).toThrow(/not valid YAML \(line \d+\)/);
  });

  it("says when the file cannot be read", () => {
    expect(() => loadConfig({ file: "/nonexistent/tollgate.yaml" })).toThrow(/cannot read file/);
  });

  it("parses the shipped default config", () => {
    const config = loadConfig({ file: "config/default.yaml" });
    expect(config.models.map((m) => m.id)).toContain("llama-3.1-8b-instruct");
  });
});

describe("deployment overrides", () => {
  it("hold only the keys they set, so the defaults underneath keep the rest", () => {
    const config = parseConfig({
      defaults: { efficiency: { mfuMin: 0.2 }, output: { lengthMedian: 50 } },
      models: [{ id: "m", profile: "Qwen2.5-0.5B" }],
      deployments: [
        {
          name: "d",
          model: "m",
          backend: {
            type: "simulated",
            hardware: "L4",
            efficiency: { mbu: 0.5 },
            output: { lengthSigma: 0 },
          },
        },
      ],
    });
    const backend = config.deployments[0]!.backend;
    if (backend.type !== "simulated") throw new Error("expected a simulated backend");
    expect(backend.efficiency).toEqual({ mbu: 0.5 });
    expect(backend.output).toEqual({ lengthSigma: 0 });
    expect({ ...config.defaults.efficiency, ...backend.efficiency }).toMatchObject({ mbu: 0.5, mfuMin: 0.2 });
  });
});
