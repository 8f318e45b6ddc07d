import type { Logger } from "pino";
import type { Clock } from "../core/clock.js";
import type { Gateway } from "../core/gateway.js";

/** Per-request values carried through Hono's typed context. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** Endpoint label for metrics (a closed set). */
    endpoint: string;
    /** Model label for metrics: a configured model id, or "unknown". */
    model: string;
    logger: Logger;
  };
}

/** What route modules need, handed in by createApp. */
export interface RouteDeps {
  gateway: Gateway;
  clock: Clock;
}
