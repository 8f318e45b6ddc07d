import { z } from "zod";

/**
 * Field shapes shared by the config sections. Each section is a zod object whose keys carry their meaning in
 * `.describe()` (or `.meta({ description })`): docs/configuration.md is generated from these descriptions
 * (`npm run docs:config`), so the code and the doc say the same thing. Doc-only metadata keys:
 * - `title`: an object documented under its own heading;
 * - `whenUnset`: what an optional key without a static default means when left out;
 * - `seeKey`: a key documented elsewhere (the same fields as that key), not repeated.
 */

export const positiveInt = z.number().int().positive();
export const fraction = z.number().min(0).max(1);

/** Deployment, tenant and key names: they become metric label values and log fields. */
export const namePattern = /^[A-Za-z0-9._-]{1,64}$/;
/** Tier and SLO class names: bounded label values. */
export const labelPattern = /^[a-z0-9_-]{1,32}$/;
/** Model ids and aliases, as clients send them. */
export const modelIdPattern = /^[A-Za-z0-9._:/-]{1,128}$/;

/** How a secret names an environment variable, read once at start-up (expandSecrets in ../load.ts). */
// biome-ignore lint/suspicious/noTemplateCurlyInString: the syntax config files use, not a template
export const ENV_REFERENCE = "`${ENV_NAME}`";

/**
 * Any subset of an object's keys, none of them defaulted: an override that holds only what it sets, so the value
 * it is merged over keeps the rest. (zod's `.partial()` keeps the inner defaults, which would fill every key left
 * out and hide the values underneath.)
 */
export function overridesOf<S extends z.ZodObject>(
  object: S,
): z.ZodType<Partial<z.output<S>>, Partial<z.input<S>>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(object.shape as Record<string, z.ZodType>)) {
    shape[key] = (field instanceof z.ZodDefault ? (field.unwrap() as z.ZodType) : field).optional();
  }
  return z.object(shape).strict() as unknown as z.ZodType<Partial<z.output<S>>, Partial<z.input<S>>>;
}
