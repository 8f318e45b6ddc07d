import { z } from "zod";

/** How a schema's type and a default value read in the configuration doc (see doc-walk.ts). */

type Schema = z.core.$ZodType;

export const code = (value: string): string => `\`${value}\``;

/** JSON with unquoted keys and spaces, as one would write it in the YAML file's flow style. */
export function formatValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return `[${value.map(formatNested).join(", ")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).map(([k, v]) => `${k}: ${formatNested(v)}`);
    return `{${entries.join(", ")}}`;
  }
  return String(value);
}

const formatNested = (value: unknown): string =>
  typeof value === "string" ? JSON.stringify(value) : formatValue(value);

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export function keyText(schema: Schema): string {
  const json = z.toJSONSchema(schema, { io: "input" });
  return typeof json.pattern === "string" ? `names matching \`${json.pattern}\`` : "names";
}

/** The type column of a scalar: its JSON Schema type and constraints, in words. */
export function typeText(schema: Schema): string {
  if (schema instanceof z.ZodEnum) return `one of ${schema.options.map((o) => code(String(o))).join(", ")}`;
  if (schema instanceof z.ZodLiteral) return [...schema.values].map((v) => code(String(v))).join(" or ");
  if (schema instanceof z.ZodBoolean) return "boolean";
  if (schema instanceof z.ZodURL) return `URL (${protocols(schema._zod.def.protocol)})`;
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
  if (json.type === "integer" || json.type === "number") return numberText(json);
  if (json.type === "string") return stringText(json);
  return String(json.type ?? "any");
}

function numberText(json: z.core.JSONSchema.JSONSchema): string {
  const integer = json.type === "integer";
  let lo = typeof json.minimum === "number" && json.minimum > -MAX_SAFE ? json.minimum : undefined;
  let hi = typeof json.maximum === "number" && json.maximum < MAX_SAFE ? json.maximum : undefined;
  let loOpen = false;
  let hiOpen = false;
  if (typeof json.exclusiveMinimum === "number") {
    if (integer) lo = json.exclusiveMinimum + 1;
    else [lo, loOpen] = [json.exclusiveMinimum, true];
  }
  if (typeof json.exclusiveMaximum === "number") {
    if (integer) hi = json.exclusiveMaximum - 1;
    else [hi, hiOpen] = [json.exclusiveMaximum, true];
  }
  const name = integer ? "integer" : "number";
  let range = "";
  if (lo !== undefined && hi !== undefined && !loOpen && !hiOpen) range = ` ${lo}-${hi}`;
  else {
    const parts = [
      lo === undefined ? "" : `${loOpen ? ">" : ">="} ${lo}`,
      hi === undefined ? "" : `${hiOpen ? "<" : "<="} ${hi}`,
    ].filter((p) => p !== "");
    if (parts.length > 0) range = ` ${parts.join(", ")}`;
  }
  const multiple = typeof json.multipleOf === "number" ? `, a multiple of ${json.multipleOf}` : "";
  return `${name}${range}${multiple}`;
}

function stringText(json: z.core.JSONSchema.JSONSchema): string {
  if (typeof json.pattern === "string") return `string matching \`${json.pattern}\``;
  const min = typeof json.minLength === "number" ? json.minLength : 0;
  const max = typeof json.maxLength === "number" ? json.maxLength : undefined;
  if (max !== undefined)
    return min > 0 ? `string of ${min}-${max} characters` : `string of at most ${max} characters`;
  if (min === 1) return "non-empty string";
  if (min > 1) return `string of at least ${min} characters`;
  return "string";
}

/** `^rediss?$` reads as "`redis`, `rediss`". */
function protocols(pattern: RegExp | undefined): string {
  if (pattern === undefined) return "any scheme";
  const plain = /^\^([a-z]+)(s\?)?\$$/.exec(pattern.source);
  if (plain === null) return `scheme matching \`${pattern.source}\``;
  const base = plain[1]!;
  return plain[2] === undefined ? code(base) : `${code(base)} or ${code(`${base}s`)}`;
}
