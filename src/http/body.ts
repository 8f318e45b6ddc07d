import type { Context } from "hono";
import { GatewayError } from "../core/errors.js";
import type { AppEnv } from "./env.js";
import { readBodyText } from "./node-io.js";

/** Reads the request body as JSON; malformed JSON is a 400 that says where parsing failed. */
export async function readJson(c: Context<AppEnv>, limit: number): Promise<unknown> {
  const text = await readBodyText(c, limit);
  if (text.trim() === "") {
    throw new GatewayError("invalid_json", "The request body is empty; send a JSON object.");
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new GatewayError(
      "invalid_json",
      `We could not parse the JSON body of your request (${(error as Error).message}). The OpenAI API expects a JSON payload.`,
    );
  }
}
