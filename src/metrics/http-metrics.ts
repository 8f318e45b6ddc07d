import { Counter, type Registry } from "prom-client";

/**
 * Metrics of the HTTP API: requests answered and clients that left early. Labels: endpoint (the API's routes),
 * model (configured ids, or "unknown"), HTTP status code, and the stage a client left at (a closed set).
 */
export function createHttpMetrics(registry: Registry) {
  return {
    requests: new Counter({
      name: "tollgate_requests_total",
      help: "HTTP API requests answered, by endpoint, model and HTTP status code.",
      labelNames: ["endpoint", "model", "status"] as const,
      registers: [registry],
    }),
    clientCancellations: new Counter({
      name: "tollgate_client_cancellations_total",
      help: "Requests whose client closed the connection before the response was complete (recorded as status 499), by endpoint and the stage it left at: reading_body, before_response (queued, prefill, or a response not yet sent), streaming.",
      labelNames: ["endpoint", "stage"] as const,
      registers: [registry],
    }),
  };
}
