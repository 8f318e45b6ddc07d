import type { Context } from "hono";
import { GatewayError } from "../core/errors.js";
import type { AppEnv } from "./env.js";
import { excessNesting } from "./json-depth.js";
import { readBodyText } from "./node-io.js";

/** `server.maxJsonDepth`'s default: far past any real request (a tool's JSON schema nests a dozen levels). */
export const DEFAULT_MAX_JSON_DEPTH = 64;

/**
 * Bodies at least this long let other work run once they are parsed: decoding, scanning and parsing 1 MiB
 * take up to 20 ms, and validation and cache-key canonicalisation after them as long again.
 */
const PAUSE_AFTER_PARSING_CHARS = 64 * 1024;

/**
 * Reads the request body as JSON. Malformed JSON is a 400 that says where parsing failed; nesting deeper than
 * `maxDepth` is a 400 found before parsing (see json-depth.ts), so no later step can overflow the stack.
 */
export async function readJson(
  c: Context<AppEnv>,
  limit: number,
  maxDepth: number = DEFAULT_MAX_JSON_DEPTH,
): Promise<unknown> {
  const text = await readBodyText(c, limit);
  if (text.trim() === "") {
    throw new GatewayError("invalid_json", "The request body is empty; send a JSON object.");
  }
  const nesting = excessNesting(text, maxDepth);
  if (nesting !== undefined) {
    const where = nesting.param === null ? "" : ` (in '${nesting.param}')`;
    throw new GatewayError(
      "invalid_request",
      `The JSON body nests objects and arrays more than ${maxDepth} levels deep${where}; flatten it.`,
      { param: nesting.param },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new GatewayError(
      "invalid_json",
      `We could not parse the JSON body of your request (${(error as Error).message}). The OpenAI API expects a JSON payload.`,
    );
  }
  if (text.length >= PAUSE_AFTER_PARSING_CHARS) await new Promise((resolve) => setImmediate(resolve));
  return parsed;
}
