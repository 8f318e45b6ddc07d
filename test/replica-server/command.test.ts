import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Config } from "../../src/config/schema.js";
import {
  BACKEND_DEFAULT_PORT,
  type BackendCommand,
  parseBackendCommand,
} from "../../src/replica-server/command.js";

const QWEN_H100 = ["--profile", "Qwen2.5-0.5B", "--gpu", "H100-SXM-80GB"];

function parse(argv: string[], env: Record<string, string> = {}): BackendCommand {
  return parseBackendCommand(argv, { env });
}

function configOf(argv: string[], env: Record<string, string> = {}): Config {
  const command = parse(argv, env);
  if (command.kind !== "run") throw new Error(`expected a config, got ${JSON.stringify(command)}`);
  return command.config;
}

function problemsOf(argv: string[], env: Record<string, string> = {}): string[] {
  const command = parse(argv, env);
  if (command.kind !== "error") throw new Error(`expected problems, got ${command.kind}`);
  return command.problems;
}

describe("tollgate backend flags -> config", () => {
  it("builds one model on one simulated replica with the schema's defaults", () => {
    const config = configOf(QWEN_H100);
    expect(config.models.map((m) => [m.id, m.profile])).toEqual([["qwen2.5-0.5b", "Qwen2.5-0.5B"]]);
    expect(config.deployments).toHaveLength(1);
    const deployment = config.deployments[0]!;
    expect(deployment).toMatchObject({
      name: "qwen2.5-0.5b-h100-sxm-80gb",
      model: "qwen2.5-0.5b",
      replicas: 1,
    });
    expect(deployment.backend).toMatchObject({
      type: "simulated",
      hardware: "H100-SXM-80GB",
      tensorParallel: 1,
      precision: "bf16",
      latency: "roofline",
    });
    expect(config.server).toMatchObject({ host: "127.0.0.1", port: BACKEND_DEFAULT_PORT });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    {
      name: "every replica flag",
      argv: [
        ...["--profile", "Llama-3.1-70B", "--gpu", "H100-SXM-80GB", "--tp", "4", "--precision", "fp8"],
        ...["--model-id", "meta/llama-70b", "--latency", "zero", "--seed", "7"],
        ...["--port", "0", "--host", "0.0.0.0"],
      ],
      expected: {
        model: "meta/llama-70b",
        deployment: "meta-llama-70b-h100-sxm-80gb",
        backend: { hardware: "H100-SXM-80GB", tensorParallel: 4, precision: "fp8", latency: "zero" },
        seed: 7,
        server: { port: 0, host: "0.0.0.0" },
      },
    },
    {
      name: "int4 weights",
      argv: ["--profile", "Llama-3.1-8B", "--gpu", "L4", "--precision", "int4"],
      expected: {
        model: "llama-3.1-8b",
        deployment: "llama-3.1-8b-l4",
        backend: { hardware: "L4", tensorParallel: 1, precision: "int4", latency: "roofline" },
        seed: 42,
        server: { port: BACKEND_DEFAULT_PORT, host: "127.0.0.1" },
      },
    },
  ])("accepts $name", ({ argv, expected }) => {
    const config = configOf(argv);
    expect(config.models[0]!.id).toBe(expected.model);
    expect(config.deployments[0]!.name).toBe(expected.deployment);
    expect(config.deployments[0]!.backend).toMatchObject(expected.backend);
    expect(config.seed).toBe(expected.seed);
    expect(config.server).toMatchObject(expected.server);
  });

  it("takes PORT and HOST from the environment, and flags win over them", () => {
    expect(configOf(QWEN_H100, { PORT: "9100", HOST: "::1" }).server).toMatchObject({
      port: 9100,
      host: "::1",
    });
    expect(configOf([...QWEN_H100, "--port", "9200"], { PORT: "9100" }).server.port).toBe(9200);
  });

  it("shows help", () => {
    expect(parse(["--help"])).toEqual({ kind: "help" });
    expect(parse(["-h"])).toEqual({ kind: "help" });
  });

  it.each([
    { argv: [...QWEN_H100, "--tp", "two"], problem: '--tp "two": expected a number' },
    { argv: [...QWEN_H100, "--tp", "0"], problem: /^--tp "0": Too small/ },
    { argv: [...QWEN_H100, "--tp", "1.5"], problem: /^--tp "1\.5": .*int/ },
    { argv: [...QWEN_H100, "--precision", "fp4"], problem: /^--precision "fp4": .*"bf16"\|"fp8"\|"int4"/ },
    { argv: [...QWEN_H100, "--latency", "fast"], problem: /^--latency "fast": .*"roofline"\|"zero"/ },
    { argv: [...QWEN_H100, "--port", "70000"], problem: /^--port "70000": Too big/ },
    { argv: [...QWEN_H100, "--port", ""], problem: '--port "": expected a number' },
    { argv: [...QWEN_H100, "--seed", "1.5"], problem: /^--seed "1\.5": .*int/ },
    {
      argv: [...QWEN_H100, "--model-id", "a b"],
      problem: '--model-id "a b": use 1-128 letters, digits or . _ : / -',
    },
    { argv: [...QWEN_H100, "--host", ""], problem: "--host must not be empty" },
    {
      argv: ["--profile", "Nope", "--gpu", "L4"],
      problem: /^--profile "Nope": unknown model profile .*Qwen2\.5-0\.5B/,
    },
    {
      argv: ["--profile", "Qwen2.5-0.5B", "--gpu", "B200"],
      problem: /^--gpu "B200": unknown hardware .*H100-SXM-80GB/,
    },
    { argv: ["--gpu", "L4"], problem: /^--profile is required/ },
    { argv: ["--profile", "Qwen2.5-0.5B"], problem: /^--gpu is required/ },
    { argv: [...QWEN_H100, "--bogus"], problem: /^Unknown option '--bogus'/ },
    { argv: [...QWEN_H100, "extra"], problem: 'unexpected argument "extra"' },
    {
      argv: ["--config", "x.yaml", "--tp", "2"],
      problem: "--tp cannot be combined with --config (set it in the file)",
    },
    { argv: QWEN_H100, env: { PORT: "http" }, problem: 'PORT "http": expected an integer from 0 to 65535' },
  ])("rejects $argv with one line: $problem", ({ argv, env, problem }) => {
    const problems = problemsOf(argv, env);
    expect(problems).toHaveLength(1);
    if (typeof problem === "string") expect(problems[0]).toBe(problem);
    else expect(problems[0]).toMatch(problem);
  });

  it("reports every bad flag at once, one line each", () => {
    const problems = problemsOf(["--profile", "Nope", "--gpu", "B200", "--precision", "fp4"]);
    expect(problems).toEqual([
      expect.stringMatching(/^--profile "Nope": /),
      expect.stringMatching(/^--gpu "B200": /),
      expect.stringMatching(/^--precision "fp4": /),
    ]);
    expect(problemsOf([...QWEN_H100, "--tp", "x", "--seed", "1.5", "--model-id", "a b"])).toEqual([
      '--tp "x": expected a number',
      expect.stringMatching(/^--seed "1\.5": /),
      expect.stringMatching(/^--model-id "a b": /),
    ]);
    expect(problemsOf([])).toEqual([
      expect.stringMatching(/^--profile is required/),
      expect.stringMatching(/^--gpu is required/),
    ]);
  });
});

describe("tollgate backend --config", () => {
  function file(text: string): string {
    const path = join(mkdtempSync(join(tmpdir(), "tollgate-backend-")), "fleet.yaml");
    writeFileSync(path, text);
    return path;
  }

  const FLEET = `
server: { port: 9000, shutdownGraceMs: 500 }
seed: 3
models:
  - id: front
    profile: Llama-3.1-8B
    fallbacks: [cheap]
  - id: cheap
    profile: Qwen2.5-0.5B
deployments:
  - name: upstream
    model: cheap
    backend: { type: openai-http, url: "http://127.0.0.1:1" }
  - name: front-h100
    model: front
    replicas: 4
    backend: { type: simulated, hardware: H100-SXM-80GB, tensorParallel: 2 }
  - name: cheap-l4
    model: cheap
    backend: { type: simulated, hardware: L4 }
`;

  it("serves the file's first simulated deployment alone, with one replica and no fallbacks", () => {
    const config = configOf(["--config", file(FLEET)]);
    expect(config.deployments.map((d) => [d.name, d.replicas])).toEqual([["front-h100", 1]]);
    expect(config.deployments[0]!.backend).toMatchObject({ hardware: "H100-SXM-80GB", tensorParallel: 2 });
    expect(config.models.map((m) => [m.id, m.fallbacks])).toEqual([["front", []]]);
    expect(config.server).toMatchObject({ port: 9000, shutdownGraceMs: 500 });
    expect(config.seed).toBe(3);
  });

  it("lets --port, --host and --seed override the file", () => {
    const config = configOf(["--config", file(FLEET), "--port", "0", "--host", "::1", "--seed", "9"]);
    expect(config.server).toMatchObject({ port: 0, host: "::1" });
    expect(config.seed).toBe(9);
  });

  it("refuses a file without a simulated deployment, and a bad file, naming the file", () => {
    const httpOnly = file(`
models: [{ id: m, profile: Qwen2.5-0.5B }]
deployments: [{ name: d, model: m, backend: { type: openai-http, url: "http://127.0.0.1:1" } }]
`);
    expect(problemsOf(["--config", httpOnly])).toEqual([
      `${httpOnly}: deployments: no simulated deployment to serve (tollgate backend needs one)`,
    ]);
    const bad = file("models: []\ndeployments: []\n");
    expect(problemsOf(["--config", bad])).toEqual([
      expect.stringMatching(new RegExp(`^${bad}: models: `)),
      expect.stringMatching(new RegExp(`^${bad}: deployments: `)),
    ]);
  });
});
