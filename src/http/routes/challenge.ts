import type { Hono } from "hono";
import { setCookie } from "hono/cookie";
import { z } from "zod";
import { validateBody } from "../../api/requests.js";
import type { Guard } from "../../guard/guard.js";
import { readJson } from "../body.js";
import type { AppEnv } from "../env.js";
import { guardInput } from "../guard-middleware.js";

const verifySchema = z
  .object({
    id: z.string().min(1).max(64),
    // A decimal integer: as a string (any length the protocol allows) or a safe JSON integer.
    nonce: z.union([z.string().min(1).max(20), z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)]),
    /** Optional: how long the client spent solving, reported for the solve-time histogram. */
    solve_ms: z.number().nonnegative().max(3_600_000).optional(),
  })
  .strict();

/** POST /v1/challenge/verify: `{id, nonce}` -> `{pass, expires_at}` plus the tollgate_pass cookie. */
export function challengeRoutes(app: Hono<AppEnv>, guard: Guard, bodyLimitBytes: number): void {
  app.post("/v1/challenge/verify", async (c) => {
    c.set("endpoint", "challenge_verify");
    const body = validateBody(verifySchema, await readJson(c, Math.min(bodyLimitBytes, 4096)));
    const result = await guard.verify(guardInput(c), {
      id: body.id,
      nonce: String(body.nonce),
      solveMs: body.solve_ms,
    });
    setCookie(c, "tollgate_pass", result.pass, {
      httpOnly: true,
      sameSite: "Lax",
      path: "/",
      maxAge: guard.passTtlSeconds,
    });
    return c.json(result);
  });
}
