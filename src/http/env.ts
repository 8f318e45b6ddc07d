import type { HttpBindings } from "@hono/node-server";
import type { Logger } from "pino";
import type { Clock } from "../core/clock.js";
import type { Gateway } from "../core/gateway.js";
import type { Pipeline } from "../core/pipeline.js";
import type { Admission } from "../guard/guard.js";

/** Per-request values carried through Hono's typed context. */
export interface AppEnv {
  /** The raw Node request and response under @hono/node-server; absent under app.request() in tests. */
  Bindings: Partial<HttpBindings>;
  Variables: {
    requestId: string;
    /** Endpoint label for metrics (a closed set). */
    endpoint: string;
    /** Model label for metrics: a configured model id, or "unknown". */
    model: string;
    logger: Logger;
    /** Set by the guard middleware on completion routes. */
    admission?: Admission;
  };
}

/** What route modules need, handed in by createApp. */
export interface RouteDeps {
  gateway: Gateway;
  /** Cache, scheduling and routing after validation, with SLO judgement. */
  pipeline: Pipeline;
  clock: Clock;
  /** Largest accepted request body in bytes (413 above). */
  bodyLimitBytes: number;
  /** Send x-tollgate-model / -deployment / -replica / -cost-usd headers. */
  exposeRoutingHeaders: boolean;
}
