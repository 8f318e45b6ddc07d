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
    // Recorded when the connection was accepted: the live socket's address is gone once the client has.
    peer: c.env?.connection?.peer ?? c.env?.incoming?.socket.remoteAddress,
    forwardedFor: requestHeader(c, "x-forwarded-for"),
    pass:
      requestHeader(c, "x-tollgate-pass") ??
      (requestHeader(c, "cookie") ? getCookie(c, "tollgate_pass") : undefined),
  };
}

/**
 * Runs the guard's checks on the request's head before a completion route: identity, challenge and request
 * rate, so a client that will be refused is refused before its body is read. The admission goes into the
 * context; the route takes the concurrency slot once the body has been read and validated (admitPrompt), so
 * a client's unfinished uploads hold no slot, and takes tokens and charges usage through it. Its rate-limit
 * headers go onto the response, and the slot is freed when the response has been sent (the raw-socket stream
 * path returns only after the last byte). A challenged browser (Accept: text/html) gets the solving page
 * instead of the JSON 403.
 */
export function guardMiddleware(guard: Guard): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    let admission: Awaited<ReturnType<Guard["check"]>>;
    try {
      admission = await guard.check(guardInput(c));
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
