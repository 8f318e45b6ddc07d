import type { Config } from "../config/schema.js";
import type { LengthDistribution } from "./sampling.js";
import { MAX_TRACE_TOKENS } from "./trace.js";
import { CHAT_LENGTHS, type WorkloadSpec } from "./workload.js";

/** `tollgate simulate`'s flags that shape the synthetic workload (parseArgs options). */
export const WORKLOAD_FLAG_OPTIONS = {
  "prompt-tokens": { type: "string" },
  "output-tokens": { type: "string" },
  "shared-prefix": { type: "string" },
  "repeat-ratio": { type: "string" },
  "class-mix": { type: "string" },
  temperature: { type: "string" },
} as const;

/** The flags that only a synthetic workload has (a trace gives its own lengths, prefixes and classes). */
export const SYNTHETIC_ONLY_FLAGS = Object.freeze([
  "prompt-tokens",
  "output-tokens",
  "shared-prefix",
  "repeat-ratio",
  "class-mix",
] as const);

export type WorkloadFlagValues = { [K in keyof typeof WORKLOAD_FLAG_OPTIONS]?: string | undefined };

export type WorkloadShape = Pick<
  WorkloadSpec,
  "promptTokens" | "outputTokens" | "sharedPrefix" | "repeatRatio" | "sloClassMix" | "temperature"
>;

/**
 * The workload fields the flags set (CHAT_LENGTHS, no sharing, no repeats, no class mix and temperature 1 for
 * those not given), or every problem, each naming its flag, the rule and the value.
 */
export function workloadShape(values: WorkloadFlagValues): { shape: WorkloadShape } | { problems: string[] } {
  const problems: string[] = [];
  /** The parsed value, or undefined after recording the problem the parser returned as a string. */
  const parse = <T>(flag: string, raw: string | undefined, parser: (raw: string) => T | string) => {
    if (raw === undefined) return undefined;
    const parsed = parser(raw);
    if (typeof parsed !== "string") return parsed;
    problems.push(`${flag} ${parsed}, got "${raw}"`);
    return undefined;
  };
  // In the order of SIMULATE_USAGE, so the problems are too.
  const promptTokens =
    parse("--prompt-tokens", values["prompt-tokens"], (raw) => lengths(raw, CHAT_LENGTHS.promptTokens)) ??
    CHAT_LENGTHS.promptTokens;
  const outputTokens =
    parse("--output-tokens", values["output-tokens"], (raw) => lengths(raw, CHAT_LENGTHS.outputTokens)) ??
    CHAT_LENGTHS.outputTokens;
  const sharedPrefix = parse("--shared-prefix", values["shared-prefix"], sharedPrefixFlag);
  // Trace lines hold at most MAX_TRACE_TOKENS, so --trace-out could not write a longer prompt.
  if (sharedPrefix !== undefined && sharedPrefix.tokens + promptTokens.max > MAX_TRACE_TOKENS) {
    problems.push(
      `--shared-prefix tokens (${sharedPrefix.tokens}) plus the longest prompt drawn (${promptTokens.max}) ` +
        `must be at most ${MAX_TRACE_TOKENS}`,
    );
  }
  const repeatRatio = parse("--repeat-ratio", values["repeat-ratio"], (raw) => number(raw, 0, 1));
  const shape: WorkloadShape = {
    promptTokens: { ...promptTokens },
    outputTokens: { ...outputTokens },
    sloClassMix: parse("--class-mix", values["class-mix"], classMix) ?? {},
    temperature: parse("--temperature", values.temperature, (raw) => number(raw, 0, 2)) ?? 1,
  };
  if (sharedPrefix !== undefined) shape.sharedPrefix = sharedPrefix;
  if (repeatRatio !== undefined) shape.repeatRatio = repeatRatio;
  return problems.length > 0 ? { problems } : { shape };
}

/**
 * What is wrong with a class mix under `config`: names that are not its SLO classes (the pipeline would answer
 * each such request with a 400). Undefined when all are known.
 */
export function unknownClassesProblem(
  mix: Readonly<Record<string, number>>,
  config: Config,
): string | undefined {
  const known = Object.keys(config.scheduling.classes);
  const unknown = Object.keys(mix).filter((name) => !known.includes(name));
  if (unknown.length === 0) return undefined;
  return `--class-mix names unknown SLO class(es) ${unknown.join(", ")}; the config's: ${known.join(", ")}`;
}

/**
 * A note for the classes of a mix that rank above the class the simulated clients have (a header may only
 * lower a client's class, so those requests run in the client's own); undefined when there are none.
 */
export function raisedClassesNote(input: {
  mix: Readonly<Record<string, number>>;
  config: Config;
  guard: boolean;
}): string | undefined {
  const { scheduling, guard } = input.config;
  // The runner sends every request as an anonymous client: its class is the guard's anonymous class, else
  // the default class.
  const own = (input.guard ? guard.anonymous.sloClass : undefined) ?? scheduling.defaultClass;
  const ownPriority = scheduling.classes[own]?.priority;
  if (ownPriority === undefined) return undefined;
  const raised = Object.entries(input.mix)
    .filter(([name, weight]) => weight > 0 && (scheduling.classes[name]?.priority ?? 0) > ownPriority)
    .map(([name]) => name);
  if (raised.length === 0) return undefined;
  return (
    `note: --class-mix asks for ${raised.join(", ")}, above the simulated clients' class "${own}"; a request ` +
    `can only lower its class, so those run as "${own}" (give anonymous clients a higher class in ` +
    `guard.anonymous.sloClass to let them ask for it)`
  );
}

/** MEDIAN[:SIGMA] over `base`, or what is wrong with it; the clamps widen to take in a median outside them. */
function lengths(raw: string, base: Readonly<LengthDistribution>): LengthDistribution | string {
  const [medianText = "", sigmaText, ...rest] = raw.split(":");
  const median = toNumber(medianText);
  const sigma = sigmaText === undefined ? base.sigma : toNumber(sigmaText);
  const rule = "must be MEDIAN[:SIGMA]";
  if (rest.length > 0) return `${rule}, one or two numbers`;
  if (!(median >= 1 && median <= MAX_TRACE_TOKENS)) return `${rule}, MEDIAN from 1 to ${MAX_TRACE_TOKENS}`;
  if (!(sigma >= 0 && sigma <= 10)) return `${rule}, SIGMA from 0 to 10`;
  return {
    median,
    sigma,
    min: Math.min(base.min, Math.floor(median)),
    max: Math.max(base.max, Math.ceil(median)),
  };
}

/** RATIO:COUNT:TOKENS, or what is wrong with it. */
function sharedPrefixFlag(raw: string): NonNullable<WorkloadSpec["sharedPrefix"]> | string {
  const parts = raw.split(":");
  const [ratio, prefixes, tokens] = parts.map(toNumber);
  const rule = "must be RATIO:COUNT:TOKENS (e.g. 0.5:4:512)";
  if (parts.length !== 3 || ratio === undefined || prefixes === undefined || tokens === undefined)
    return `${rule}, three numbers`;
  if (!(ratio >= 0 && ratio <= 1)) return `${rule}, RATIO from 0 to 1`;
  if (!(Number.isInteger(prefixes) && prefixes >= 1)) return `${rule}, COUNT an integer >= 1`;
  if (!(Number.isInteger(tokens) && tokens >= 1 && tokens <= MAX_TRACE_TOKENS))
    return `${rule}, TOKENS an integer from 1 to ${MAX_TRACE_TOKENS}`;
  return { ratio, prefixes, tokens };
}

/**
 * NAME=WEIGHT,... (weights >= 0, at least one positive: they are normalised), or what is wrong with it. Names
 * are matched as the pipeline matches x-tollgate-slo-class: trimmed, in lower case.
 */
function classMix(raw: string): Record<string, number> | string {
  const rule = "must be CLASS=WEIGHT,... (e.g. interactive=0.3,batch=0.7)";
  const mix: Record<string, number> = {};
  for (const item of raw.split(",")) {
    const [nameText, weightText, ...rest] = item.split("=");
    const name = (nameText ?? "").trim().toLowerCase();
    const weight = toNumber(weightText ?? "");
    if (name === "" || weightText === undefined || rest.length > 0)
      return `${rule}: "${item}" is not CLASS=WEIGHT`;
    if (Object.hasOwn(mix, name)) return `${rule}: ${name} is given twice`;
    if (!(Number.isFinite(weight) && weight >= 0)) return `${rule}: ${name}'s weight must be a number >= 0`;
    mix[name] = weight;
  }
  return Object.values(mix).some((w) => w > 0) ? mix : `${rule}: at least one weight must be > 0`;
}

/** A number in [min, max], or the rule it breaks. */
function number(raw: string, min: number, max: number): number | string {
  const value = toNumber(raw);
  return value >= min && value <= max ? value : `must be a number from ${min} to ${max}`;
}

/** Number(raw), except that blank text is NaN rather than 0. */
function toNumber(raw: string): number {
  return raw.trim() === "" ? Number.NaN : Number(raw);
}
