import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { GatewayError } from "../core/errors.js";
import type { Challenge } from "../guard/challenges.js";
import type { Guard, GuardInput } from "../guard/guard.js";
import { challengePage } from "./challenge-page.js";
import type { AppEnv } from "./env.js";
import { requestHeader } from "./node-io.js";

/** What the guard needs from an HTTP request: credentials, addresses, a pass (header, else cookie). */
export function guardInput(c: Context<AppEnv>): GuardInput {
  return {
    authorization: requestHeader(c, "authorization"),
    peer: c.env?.incoming?.socket.remoteAddress,
    forwardedFor: requestHeader(c, "x-forwarded-for"),
    pass:
      requestHeader(c, "x-tollgate-pass") ??
      (requestHeader(c, "cookie") ? getCookie(c, "tollgate_pass") : undefined),
  };
}

/**
 * Runs the guard before a completion route: the admission goes into the context (routes take tokens and
 * charge usage through it), its rate-limit headers onto the response, and its concurrency slot is freed when
 * the response has been sent (the raw-socket stream path returns only after the last byte). A challenged
 * browser (Accept: text/html) gets the solving page instead of the JSON 403.
 */
export function guardMiddleware(guard: Guard): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    let admission: Awaited<ReturnType<Guard["admit"]>>;
    try {
      admission = await guard.admit(guardInput(c));
    } catch (error) {
      if (error instanceof GatewayError && error.code === "challenge_required" && wantsHtml(c)) {
        return c.html(challengePage(error.details?.["challenge"] as Challenge), 403);
      }
      throw error;
    }
    c.set("admission", admission);
    for (const [name, value] of Object.entries(admission.headers)) c.header(name, value);
    try {
      await next();
    } finally {
      await admission.release();
    }
  };
}

function wantsHtml(c: Context<AppEnv>): boolean {
  const accept = requestHeader(c, "accept") ?? "";
  return accept.includes("text/html");
}
