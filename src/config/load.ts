import { readFileSync } from "node:fs";
import { parse as parseYaml, YAMLParseError } from "yaml";
import type { z } from "zod";
import { HARDWARE_CATALOG } from "./catalog/hardware.js";
import { MODEL_CATALOG } from "./catalog/models.js";
import { type Config, configSchema } from "./schema.js";
import { checkAdmin } from "./sections/admin.js";
import { catalogNames } from "./sections/catalog.js";
import { checkDeployments } from "./sections/deployments.js";
import { checkGuard } from "./sections/guard.js";
import { checkModelIds, checkModelReferences } from "./sections/models.js";
import { checkScheduling } from "./sections/scheduling.js";
import { checkServer } from "./sections/server.js";

/** A configuration that cannot be used; `problems` has one line per bad field. */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[]) {
    super(`invalid configuration in ${source}:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

export interface LoadConfigOptions {
  /** Path of the YAML file. */
  file: string;
  /** Environment to read overrides from (PORT, HOST, REDIS_URL); the caller passes process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Command-line overrides; they win over the environment and the file. */
  overrides?: { port?: number; host?: string };
}

/** Reads, overrides, validates and freezes the configuration. Throws ConfigError on any problem. */
export function loadConfig(options: LoadConfigOptions): Config {
  let text: string;
  try {
    text = readFileSync(options.file, "utf8");
  } catch (error) {
    throw new ConfigError(options.file, [`cannot read file: ${(error as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` (line ${error.linePos[0].line})` : "";
    throw new ConfigError(options.file, [
      `not valid YAML${where}: ${(error as Error).message.split("\n")[0]}`,
    ]);
  }
  return parseConfig(applyOverrides(raw, options), options.file, options.env ?? {});
}

/** Validates an already-parsed object (a YAML document or a test's literal). */
export function parseConfig(
  raw: unknown,
  source = "config",
  env: Readonly<Record<string, string | undefined>> = {},
): Config {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) throw new ConfigError(source, formatIssues(result.error.issues));
  const problems = [...expandSecrets(result.data, env), ...crossCheck(result.data)];
  if (problems.length > 0) throw new ConfigError(source, problems);
  return deepFreeze(result.data);
}

function applyOverrides(raw: unknown, options: LoadConfigOptions): unknown {
  const doc = (typeof raw === "object" && raw !== null ? { ...raw } : {}) as Record<string, unknown>;
  const server = { ...((doc["server"] as Record<string, unknown> | undefined) ?? {}) };
  const envPort = options.env?.["PORT"];
  if (envPort !== undefined && envPort !== "") server["port"] = Number(envPort);
  const envHost = options.env?.["HOST"];
  if (envHost !== undefined && envHost !== "") server["host"] = envHost;
  if (options.overrides?.port !== undefined) server["port"] = options.overrides.port;
  if (options.overrides?.host !== undefined) server["host"] = options.overrides.host;
  doc["server"] = server;
  // Like PORT, REDIS_URL from the environment wins over the file (twelve-factor style).
  const redisUrl = options.env?.["REDIS_URL"];
  if (redisUrl !== undefined && redisUrl !== "") {
    doc["store"] = { ...((doc["store"] as Record<string, unknown> | undefined) ?? {}), url: redisUrl };
  }
  return doc;
}

function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join(".") : "(root)";
    return `${path}: ${issue.message}`;
  });
}

/**
 * Checks that need the whole document: unique names and references between sections and to the catalogs. Each
 * section's checks live beside its schema (./sections/); this lists them in the order their problems are reported.
 */
function crossCheck(config: Config): string[] {
  const classes = config.scheduling.classes;
  return [
    ...checkModelIds(config.models, catalogNames(MODEL_CATALOG, config.catalog.models)),
    ...checkDeployments(config.deployments, {
      modelIds: new Set(config.models.map((m) => m.id)),
      hardware: catalogNames(HARDWARE_CATALOG, config.catalog.hardware),
    }),
    ...checkModelReferences(config.models, {
      served: new Set(config.deployments.map((d) => d.model)),
      classes,
    }),
    ...checkGuard(config.guard, classes),
    ...checkServer(config.server),
    ...checkAdmin(config.admin),
    ...checkScheduling(config.scheduling),
  ];
}

/**
 * Upstream API keys may name an environment variable as `${NAME}` so secrets stay out of config files;
 * the value is read here, once, at start-up.
 */
function expandSecrets(config: Config, env: Readonly<Record<string, string | undefined>>): string[] {
  const problems: string[] = [];
  const fromEnv = (value: string, field: string): string => {
    const match = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(value);
    if (match === null) return value;
    const found = env[match[1]!];
    if (found === undefined || found === "")
      problems.push(`${field}: environment variable ${match[1]} is not set`);
    return found ?? value;
  };
  if (config.admin.key !== undefined) config.admin.key = fromEnv(config.admin.key, "admin.key");
  if (config.guard.secret !== undefined) {
    config.guard.secret = fromEnv(config.guard.secret, "guard.secret");
    if (!config.guard.secret.startsWith("${") && config.guard.secret.length < 32)
      problems.push("guard.secret: use at least 32 characters");
  }
  config.deployments.forEach((deployment, i) => {
    const backend = deployment.backend;
    if (backend.type === "openai-http" && backend.apiKey !== undefined) {
      backend.apiKey = fromEnv(backend.apiKey, `deployments.${i}.backend.apiKey`);
    }
  });
  return problems;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
