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
