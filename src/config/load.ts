import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { parse as parseYaml, YAMLParseError } from "yaml";
import type { z } from "zod";
import { HARDWARE_CATALOG } from "./catalog/hardware.js";
import { MODEL_CATALOG } from "./catalog/models.js";
import { type Config, configSchema } from "./schema.js";

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

/** Checks that need the whole document: unique names and references between sections and to the catalogs. */
function crossCheck(config: Config): string[] {
  const problems: string[] = [];
  const hardware = new Set([...Object.keys(HARDWARE_CATALOG), ...Object.keys(config.catalog.hardware)]);
  const profiles = new Set([...Object.keys(MODEL_CATALOG), ...Object.keys(config.catalog.models)]);
  const modelIds = new Map<string, number>();
  config.models.forEach((model, i) => {
    if (modelIds.has(model.id)) problems.push(`models.${i}.id: duplicate model id "${model.id}"`);
    modelIds.set(model.id, i);
    if (!profiles.has(model.profile)) {
      problems.push(
        `models.${i}.profile: unknown model profile "${model.profile}" (known: ${[...profiles].join(", ")})`,
      );
    }
  });
  const served = new Set<string>();
  const deploymentNames = new Set<string>();
  config.deployments.forEach((deployment, i) => {
    if (deploymentNames.has(deployment.name)) {
      problems.push(`deployments.${i}.name: duplicate deployment name "${deployment.name}"`);
    }
    deploymentNames.add(deployment.name);
    if (!modelIds.has(deployment.model)) {
      problems.push(`deployments.${i}.model: no model with id "${deployment.model}" in models`);
    }
    served.add(deployment.model);
    if (deployment.backend.type === "simulated" && !hardware.has(deployment.backend.hardware)) {
      problems.push(
        `deployments.${i}.backend.hardware: unknown hardware "${deployment.backend.hardware}" (known: ${[...hardware].join(", ")})`,
      );
    }
  });
  const names = new Map<string, string>(config.models.map((m) => [m.id, `model "${m.id}"`]));
  config.models.forEach((model, i) => {
    if (!served.has(model.id)) problems.push(`models.${i}: no deployment serves model "${model.id}"`);
    model.aliases.forEach((alias, j) => {
      const taken = names.get(alias);
      if (taken !== undefined) problems.push(`models.${i}.aliases.${j}: "${alias}" is already ${taken}`);
      names.set(alias, `an alias of "${model.id}"`);
    });
    model.canary.forEach((target, j) => {
      if (target.model === model.id)
        problems.push(`models.${i}.canary.${j}.model: a model cannot be its own canary`);
      else if (!modelIds.has(target.model))
        problems.push(`models.${i}.canary.${j}.model: no model with id "${target.model}"`);
    });
    if (model.shadow !== undefined) {
      if (model.shadow.model === model.id)
        problems.push(`models.${i}.shadow.model: a model cannot shadow itself`);
      else if (!modelIds.has(model.shadow.model)) {
        problems.push(`models.${i}.shadow.model: no model with id "${model.shadow.model}"`);
      }
    }
    const degradeTo = model.scheduling.degradeTo;
    if (degradeTo !== undefined) {
      if (degradeTo === model.id)
        problems.push(`models.${i}.scheduling.degradeTo: a model cannot degrade to itself`);
      else if (!modelIds.has(degradeTo))
        problems.push(`models.${i}.scheduling.degradeTo: no model with id "${degradeTo}"`);
    }
    for (const [j, name] of (model.scheduling.batching.bypassClasses ?? []).entries()) {
      if (!(name in config.scheduling.classes))
        problems.push(`models.${i}.scheduling.batching.bypassClasses.${j}: no SLO class "${name}"`);
    }
    model.fallbacks.forEach((fallback, j) => {
      if (fallback === model.id)
        problems.push(`models.${i}.fallbacks.${j}: a model cannot fall back to itself`);
      else if (!modelIds.has(fallback))
        problems.push(`models.${i}.fallbacks.${j}: no model with id "${fallback}"`);
    });
  });
  problems.push(...checkGuard(config));
  problems.push(...checkServer(config));
  if (!(config.scheduling.defaultClass in config.scheduling.classes)) {
    problems.push(
      `scheduling.defaultClass: no SLO class "${config.scheduling.defaultClass}" (known: ${Object.keys(config.scheduling.classes).join(", ")})`,
    );
  }
  return problems;
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

/** The guard's references: keys to tenants, tenants and anonymous clients to SLO classes, proxy addresses. */
function checkGuard(config: Config): string[] {
  const problems: string[] = [];
  const { guard } = config;
  const classes = config.scheduling.classes;
  const hashes = new Set<string>();
  guard.apiKeys.forEach((key, i) => {
    if (!(key.tenant in guard.tenants)) problems.push(`guard.apiKeys.${i}.tenant: no tenant "${key.tenant}"`);
    if (hashes.has(key.sha256)) problems.push(`guard.apiKeys.${i}.sha256: the same key is listed twice`);
    hashes.add(key.sha256);
  });
  for (const [name, tenant] of Object.entries(guard.tenants)) {
    if (tenant.sloClass !== undefined && !(tenant.sloClass in classes))
      problems.push(`guard.tenants.${name}.sloClass: no SLO class "${tenant.sloClass}"`);
  }
  if (guard.anonymous.sloClass !== undefined && !(guard.anonymous.sloClass in classes))
    problems.push(`guard.anonymous.sloClass: no SLO class "${guard.anonymous.sloClass}"`);
  guard.trustedProxies.forEach((entry, i) => {
    const [address, bits] = entry.split("/");
    const family = isIP(address ?? "");
    const maxBits = family === 6 ? 128 : 32;
    if (
      family === 0 ||
      (bits !== undefined && !(Number(bits) >= 0 && Number(bits) <= maxBits && /^\d+$/.test(bits)))
    )
      problems.push(`guard.trustedProxies.${i}: "${entry}" is not an IP address or CIDR range`);
  });
  return problems;
}

/** Timeouts Node would refuse, and an admin API that demands a key it was not given. */
function checkServer(config: Config): string[] {
  const problems: string[] = [];
  const { server, admin } = config;
  if (server.headersTimeoutMs > server.requestTimeoutMs)
    problems.push(
      `server.headersTimeoutMs: ${server.headersTimeoutMs} is longer than server.requestTimeoutMs (${server.requestTimeoutMs}), which covers the headers too`,
    );
  if (admin.enabled && admin.requireKey === true && admin.key === undefined)
    problems.push("admin.requireKey: true needs admin.key (or admin.enabled: false)");
  return problems;
}
