import { Hono } from "hono";
import type { Logger } from "pino";
import { errorBody, toGatewayError } from "../api/error-body.js";
import type { Clock } from "../core/clock.js";
import { GatewayError } from "../core/errors.js";
import type { Guard } from "../guard/guard.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Gateway } from "../pipeline/gateway.js";
import type { Pipeline } from "../pipeline/pipeline.js";
import { DEFAULT_MAX_JSON_DEPTH } from "./body.js";
import type { AppEnv } from "./env.js";
import { guardMiddleware } from "./guard-middleware.js";
import { clientLeft, closedForTimeout, requestHeader } from "./node-io.js";
import { type AdminDeps, adminRoutes } from "./routes/admin.js";
import { challengeRoutes } from "./routes/challenge.js";
import { chatRoutes } from "./routes/chat.js";
import { completionRoutes } from "./routes/completions.js";
import { modelRoutes } from "./routes/models.js";

export interface AppDeps {
  gateway: Gateway;
  /** Cache, scheduling and routing after validation. */
  pipeline: Pipeline;
  /** Identity, rate limits and challenges in front of the completion routes; none when absent. */
  guard?: Guard;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  /** Largest accepted request body in bytes (413 above). */
  bodyLimitBytes: number;
  /** Longest pause between two chunks of a request body before a 408 (server.bodyIdleTimeoutMs; 0: none). */
  bodyIdleTimeoutMs?: number;
  /** Deepest JSON nesting accepted in a completion request body (400 above; default 64). */
  maxJsonDepth?: number;
  /** Send headers naming the model and replica that served (default true). */
  exposeRoutingHeaders?: boolean;
  /** The admin API's replicas and key; no admin API when absent. */
  admin?: Omit<AdminDeps, "gateway">;
  /** Put prompt text in completion log lines (log.prompts). */
  logPrompts?: boolean;
  /** True while the server drains for shutdown: /readyz turns 503 so load balancers stop sending. */
  isDraining?: () => boolean;
}

/** Paths the API serves, with the methods each allows (anything else on them is a 405). */
const ALLOWED_METHODS: ReadonlyArray<[path: string, allow: string]> = [
  ["/v1/chat/completions", "POST"],
  ["/v1/completions", "POST"],
  ["/v1/models", "GET"],
  ["/v1/challenge/verify", "POST"],
  ["/v1/models/*", "GET"],
  ["/healthz", "GET"],
  ["/readyz", "GET"],
  ["/metrics", "GET"],
  ["/admin/replicas", "GET"],
  ["/admin/replicas/*", "POST"],
];

/** Builds the Hono app. No side effects: listening, signals and the environment belong to server.ts. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const { gateway, metrics, logger } = deps;
  const bodyIdleTimeoutMs = deps.bodyIdleTimeoutMs ?? 0;
  const app = new Hono<AppEnv>();

  app.use(async (c, next) => {
    const requestId = clientRequestId(requestHeader(c, "x-request-id")) ?? newRequestId();
    c.set("requestId", requestId);
    c.header("x-request-id", requestId);
    c.set("endpoint", "other");
    c.set("model", "");
    c.set("logger", logger);
    c.set("bodyIdleTimeoutMs", bodyIdleTimeoutMs);
    const start = deps.clock.now();
    await next();
    let status = c.res.status;
    const endpoint = c.get("endpoint");
    // A client that left is not a server error, whatever the handler made of the closed socket: it is
    // recorded as nginx's 499 (client closed request), with the stage it left at.
    const left = clientLeft(c);
    if (left !== undefined) {
      status = CLIENT_CLOSED;
      c.set("errorCode", "client_closed_request");
      metrics.clientCancellations.inc({ endpoint, stage: left });
    }
    metrics.requests.inc({ endpoint, model: c.get("model"), status: String(status) });
    const ms = deps.clock.now() - start;
    if (endpoint !== "chat_completions" && endpoint !== "completions") {
      // Scrapes, health checks, model lists: at debug, free when disabled.
      logger.debug(
        { requestId: c.get("requestId"), method: c.req.method, path: c.req.path, status, ms },
        "request",
      );
      return;
    }
    // One structured line per completion, written when its last byte has gone out.
    const served = c.get("served");
    const prompt = deps.logPrompts ? c.get("prompt") : undefined;
    logger.info(
      {
        requestId: c.get("requestId"),
        endpoint,
        model: c.get("model"),
        status,
        outcome: c.get("errorCode") ?? served?.finishReason ?? "aborted",
        ms,
        ...served,
        ...(prompt !== undefined && { prompt }),
      },
      "completion",
    );
  });

  const routeDeps = {
    gateway,
    pipeline: deps.pipeline,
    clock: deps.clock,
    bodyLimitBytes: deps.bodyLimitBytes,
    maxJsonDepth: deps.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH,
    exposeRoutingHeaders: deps.exposeRoutingHeaders ?? true,
  };
  if (deps.admin !== undefined) adminRoutes(app, { gateway, ...deps.admin }, deps.bodyLimitBytes);
  const guard = deps.guard;
  if (guard?.enabled) {
    const middleware = guardMiddleware(guard);
    app.post("/v1/chat/completions", middleware);
    app.post("/v1/completions", middleware);
    challengeRoutes(app, guard, deps.bodyLimitBytes);
  }
  chatRoutes(app, routeDeps);
  completionRoutes(app, routeDeps);
  modelRoutes(app, routeDeps);

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", (c) => {
    if (deps.isDraining?.()) return c.json({ status: "draining" }, 503);
    return gateway.isReady() ? c.json({ status: "ready" }) : c.json({ status: "unavailable" }, 503);
  });
  app.get("/metrics", async (c) => {
    const body = await metrics.registry.metrics();
    return c.body(body, 200, { "Content-Type": metrics.registry.contentType });
  });

  for (const [path, allow] of ALLOWED_METHODS) {
    app.all(path, (c) => {
      c.header("Allow", allow);
      throw new GatewayError(
        "method_not_allowed",
        `Method ${c.req.method} is not allowed on ${c.req.path}; use ${allow}.`,
      );
    });
  }
  app.notFound((c) => {
    const error = new GatewayError("not_found", `Unknown request URL: ${c.req.method} ${c.req.path}.`);
    return c.json(errorBody(error), 404);
  });
  app.onError((error, c) => {
    // The socket's fate says more than the error the handler saw on it (a read or write on a closed socket).
    const gatewayError =
      clientLeft(c) !== undefined
        ? new GatewayError("client_closed_request", "The client closed the connection.", { cause: error })
        : closedForTimeout(c)
          ? new GatewayError("request_timeout", "The request did not arrive in time.", { cause: error })
          : toGatewayError(error, c.get("requestId"));
    c.set("errorCode", gatewayError.code);
    const log = c.get("logger") ?? logger;
    // Shedding, throttling and challenges are the gateway doing its job under a surge (each is counted in
    // metrics): a log line per refused request would cost the most exactly when there is least to spare.
    if (QUIET_CODES.has(gatewayError.code))
      log.debug({ requestId: c.get("requestId"), code: gatewayError.code }, gatewayError.message);
    else if (gatewayError.status >= 500)
      log.error({ err: error, requestId: c.get("requestId") }, gatewayError.message);
    else log.info({ requestId: c.get("requestId"), code: gatewayError.code }, gatewayError.message);
    if (gatewayError.retryAfterSeconds !== undefined)
      c.header("Retry-After", String(gatewayError.retryAfterSeconds));
    for (const [name, value] of Object.entries(gatewayError.headers ?? {})) c.header(name, value);
    // The rest of an oversized or stalled body is never read; closing the connection stops a client from
    // reusing a socket the server is about to drop.
    if (gatewayError.code === "request_too_large" || gatewayError.code === "request_timeout")
      c.header("Connection", "close");
    return c.json(errorBody(gatewayError), gatewayError.status as 400);
  });
  return app;
}

const QUIET_CODES: ReadonlySet<string> = new Set([
  "overloaded",
  "tenant_over_share",
  "rate_limit_exceeded",
  "challenge_required",
  // Counted in tollgate_client_cancellations_total, and a completion's own log line says so at info.
  "client_closed_request",
]);

/** nginx's "client closed request": recorded, never sent (nobody is left to read it). */
const CLIENT_CLOSED = 499;

/** A client's own request id is kept when it is short and made of safe characters (it is echoed and logged). */
const SAFE_REQUEST_ID = /^[\w\-=.:]{1,128}$/;

function clientRequestId(value: string | undefined): string | undefined {
  return value !== undefined && SAFE_REQUEST_ID.test(value) ? value : undefined;
}

function newRequestId(): string {
  return `req_${crypto.randomUUID().replaceAll("-", "")}`;
}
