import { parseArgs } from "node:util";
import { HARDWARE_CATALOG } from "../config/catalog/hardware.js";
import { MODEL_CATALOG } from "../config/catalog/models.js";
import { ConfigError, loadConfig, parseConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";

/**
 * `tollgate backend` flags -> one validated config serving one model on one simulated replica. Every value is
 * checked by the config's zod schema (the same one `serve` uses); its messages are re-worded to name the flag.
 */

/** vLLM's default port, so a backend and a gateway (8080) started with defaults do not collide. */
export const BACKEND_DEFAULT_PORT = 8000;

export type BackendCommand =
  | { kind: "help" }
  | { kind: "run"; config: Config; source: string }
  /** Bad command line or configuration: one line per problem. */
  | { kind: "error"; problems: string[] };

export interface BackendCommandContext {
  /** Read for PORT and HOST (flags win); the caller passes process.env. */
  env: Readonly<Record<string, string | undefined>>;
}

const FLAGS = {
  profile: { type: "string" },
  gpu: { type: "string" },
  tp: { type: "string" },
  precision: { type: "string" },
  "model-id": { type: "string" },
  latency: { type: "string" },
  seed: { type: "string" },
  port: { type: "string" },
  host: { type: "string" },
  config: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Flags = Partial<Record<Exclude<keyof typeof FLAGS, "help">, string>>;

/** Flags that describe the replica, which a config file describes instead. */
const REPLICA_FLAGS = ["profile", "gpu", "tp", "precision", "model-id", "latency"] as const;

/** Config paths built from flags, so the schema's messages can name the flag. */
const FLAG_OF_PATH: Readonly<Record<string, keyof Flags>> = {
  "models.0.id": "model-id",
  "models.0.profile": "profile",
  "deployments.0.backend.hardware": "gpu",
  "deployments.0.backend.tensorParallel": "tp",
  "deployments.0.backend.precision": "precision",
  "deployments.0.backend.latency": "latency",
  "server.port": "port",
  "server.host": "host",
  seed: "seed",
};

/** Parses `tollgate backend` arguments (those after the word `backend`). */
export function parseBackendCommand(argv: readonly string[], context: BackendCommandContext): BackendCommand {
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(argv);
  } catch (error) {
    return { kind: "error", problems: [(error as Error).message] };
  }
  if (parsed.values.help) return { kind: "help" };
  const { help: _, ...flags } = parsed.values;
  const problems = parsed.positionals.map((p) => `unexpected argument "${p}"`);
  const numbers = {
    tp: numberFlag(flags, "tp", problems),
    seed: numberFlag(flags, "seed", problems),
    port: numberFlag(flags, "port", problems),
  };
  if (flags.host === "") problems.push("--host must not be empty");
  if (flags.config !== undefined) {
    for (const name of REPLICA_FLAGS) {
      if (flags[name] !== undefined)
        problems.push(`--${name} cannot be combined with --config (set it in the file)`);
    }
    if (problems.length > 0) return { kind: "error", problems };
    return fromConfigFile(
      flags.config,
      { seed: numbers.seed, port: numbers.port, host: flags.host },
      context,
    );
  }
  if (flags.profile === undefined)
    problems.push("--profile is required (a model profile, e.g. Llama-3.1-8B)");
  if (flags.gpu === undefined) problems.push("--gpu is required (a hardware profile, e.g. H100-SXM-80GB)");
  const envPort = envNumber(context.env["PORT"], problems);
  if (flags.profile === undefined || flags.gpu === undefined) return { kind: "error", problems };
  // The config's cross-checks (catalog names) run only once the schema passes; checking the catalogs here too
  // reports a bad --profile or --gpu together with, say, a bad --precision. Flags already found bad are left
  // out of the config so the schema reports the others.
  problems.push(
    ...unknownName("profile", flags.profile, MODEL_CATALOG, "model profile"),
    ...unknownName("gpu", flags.gpu, HARDWARE_CATALOG, "hardware"),
  );
  const input = configFromFlags({
    profile: flags.profile,
    gpu: flags.gpu,
    modelId: flags["model-id"],
    precision: flags.precision,
    latency: flags.latency,
    ...numbers,
    port: numbers.port ?? envPort ?? BACKEND_DEFAULT_PORT,
    host: nonEmpty(flags.host) ?? nonEmpty(context.env["HOST"]),
  });
  try {
    const config = parseConfig(input, "flags");
    if (problems.length === 0) return { kind: "run", config, source: "flags" };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems.map((p) => nameTheFlag(p, flags)));
  }
  return { kind: "error", problems: [...new Set(problems)] };
}

/** The raw config document (as a YAML file would give) that a set of replica flags stands for; parseConfig checks it. */
export function configFromFlags(flags: {
  profile: string;
  gpu: string;
  modelId?: string | undefined;
  tp?: number | undefined;
  precision?: string | undefined;
  latency?: string | undefined;
  seed?: number | undefined;
  port?: number | undefined;
  host?: string | undefined;
}): unknown {
  const modelId = flags.modelId ?? flags.profile.toLowerCase();
  const backend = {
    type: "simulated",
    hardware: flags.gpu,
    ...(flags.tp !== undefined && { tensorParallel: flags.tp }),
    ...(flags.precision !== undefined && { precision: flags.precision }),
    ...(flags.latency !== undefined && { latency: flags.latency }),
  };
  return {
    server: {
      ...(flags.port !== undefined && { port: flags.port }),
      ...(flags.host !== undefined && { host: flags.host }),
    },
    ...(flags.seed !== undefined && { seed: flags.seed }),
    models: [{ id: modelId, profile: flags.profile }],
    deployments: [
      {
        name: deploymentName(modelId, flags.gpu),
        model: modelId,
        replicas: 1,
        backend,
      },
    ],
  };
}

/**
 * A full config's first simulated deployment, alone, with one replica: the rest of the file (catalog,
 * defaults, seed, server settings) applies as written. Fallbacks are dropped: their models are not served here.
 */
export function singleReplicaConfig(config: Config, source: string): Config {
  const deployment = config.deployments.find((d) => d.backend.type === "simulated");
  if (deployment === undefined) {
    throw new ConfigError(source, [
      "deployments: no simulated deployment to serve (tollgate backend needs one)",
    ]);
  }
  const model = config.models.find((m) => m.id === deployment.model);
  return parseConfig(
    {
      ...config,
      models: model === undefined ? [] : [{ ...model, fallbacks: [] }],
      deployments: [{ ...deployment, replicas: 1 }],
    },
    source,
  );
}

function fromConfigFile(
  file: string,
  overrides: { seed: number | undefined; port: number | undefined; host: string | undefined },
  context: BackendCommandContext,
): BackendCommand {
  try {
    const full = loadConfig({
      file,
      env: context.env,
      overrides: {
        ...(overrides.port !== undefined && { port: overrides.port }),
        ...(overrides.host !== undefined && { host: overrides.host }),
      },
    });
    const config = singleReplicaConfig(full, file);
    return {
      kind: "run",
      config: overrides.seed === undefined ? config : parseConfig({ ...config, seed: overrides.seed }, file),
      source: file,
    };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { kind: "error", problems: error.problems.map((p) => `${file}: ${p}`) };
  }
}

function parseFlags(argv: readonly string[]) {
  return parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: FLAGS });
}

/** A numeric flag as a number (range and integrality are the schema's to check), or a problem. */
function numberFlag(flags: Flags, name: "tp" | "seed" | "port", problems: string[]): number | undefined {
  const raw = flags[name];
  if (raw === undefined) return undefined;
  const value = raw.trim() === "" ? Number.NaN : Number(raw);
  if (!Number.isFinite(value)) {
    problems.push(`--${name} "${raw}": expected a number`);
    return undefined;
  }
  return value;
}

function envNumber(raw: string | undefined, problems: string[]): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    problems.push(`PORT "${raw}": expected an integer from 0 to 65535`);
    return undefined;
  }
  return value;
}

function nonEmpty(raw: string | undefined): string | undefined {
  return raw === "" ? undefined : raw;
}

/** `models.0.profile: unknown ...` -> `--profile "X": unknown ...` when the path came from a flag. */
function nameTheFlag(problem: string, flags: Flags): string {
  const colon = problem.indexOf(": ");
  const flag = colon < 0 ? undefined : FLAG_OF_PATH[problem.slice(0, colon)];
  if (flag === undefined) return problem;
  const raw = flags[flag];
  const value = raw === undefined ? "" : ` "${raw}"`;
  return `--${flag}${value}: ${problem.slice(colon + 2)}`;
}

function unknownName(flag: keyof Flags, name: string, catalog: object, what: string): string[] {
  if (Object.hasOwn(catalog, name)) return [];
  return [`--${flag} "${name}": unknown ${what} "${name}" (known: ${Object.keys(catalog).join(", ")})`];
}

/** A deployment name from the model and GPU, within the schema's 1-64 safe characters. */
function deploymentName(modelId: string, gpu: string): string {
  const safe = `${modelId}-${gpu}`.toLowerCase().replace(/[^a-z0-9._-]+/g, "-");
  return safe.slice(0, 64) || "backend";
}
