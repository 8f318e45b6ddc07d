import { z } from "zod";
import { positiveInt } from "./fields.js";

export const serverSchema = z
  .object({
    host: z
      .string()
      .default("127.0.0.1")
      .describe("Bind address (the Docker image sets HOST=0.0.0.0). HOST, then --host, override it."),
    port: z
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(8080)
      .describe("Listen port; 0 picks a free one. PORT, then --port, override it."),
    bodyLimitBytes: positiveInt
      .default(1_048_576)
      .describe("Largest request body accepted; larger bodies get 413."),
    maxJsonDepth: positiveInt
      .max(1000)
      .default(64)
      .describe(
        "Deepest nesting of objects and arrays accepted in a completion request body; deeper is a 400 naming " +
          "the field, found by a linear scan before parsing, so nothing downstream can overflow the stack " +
          '(docs/reliability.md: "Hostile input").',
      ),
    shutdownGraceMs: z
      .number()
      .int()
      .nonnegative()
      .default(10_000)
      .describe(
        "On SIGTERM/SIGINT: readiness goes 503, the server stops accepting, in-flight requests get at most " +
          "this long to finish, then the process exits.",
      ),
    exposeRoutingHeaders: z
      .boolean()
      .default(true)
      .describe(
        "Send the x-tollgate-model, -replica, -deployment and -cost-usd response headers (turn off to hide " +
          "the fleet).",
      ),
    headersTimeoutMs: positiveInt
      .default(10_000)
      .describe(
        "From a request's first byte to the end of its headers; later: 408 and the connection closed. " +
          "At most requestTimeoutMs.",
      ),
    requestTimeoutMs: positiveInt
      .default(30_000)
      .describe(
        "From a request's first byte to the end of its body (Node's requestTimeout); later: 408 and the " +
          "connection closed. Receiving the request only: a response may stream for as long as it lasts.",
      ),
    bodyIdleTimeoutMs: positiveInt
      .default(10_000)
      .describe("Longest pause between two chunks of a request body; longer: 408 and the connection closed."),
    keepAliveTimeoutMs: positiveInt
      .default(5_000)
      .describe(
        "An idle keep-alive connection is closed after this long. Behind a load balancer that reuses " +
          "connections, make it longer than the balancer's own idle timeout (nginx upstream: 60 s).",
      ),
  })
  .strict()
  .meta({
    title: "Server",
    description: "The HTTP listener: address, body limits, slow-client timeouts, shutdown.",
  });

export type ServerConfig = z.infer<typeof serverSchema>;

/** Timeouts Node would refuse. */
export function checkServer(server: ServerConfig): string[] {
  const problems: string[] = [];
  if (server.headersTimeoutMs > server.requestTimeoutMs)
    problems.push(
      `server.headersTimeoutMs: ${server.headersTimeoutMs} is longer than server.requestTimeoutMs (${server.requestTimeoutMs}), which covers the headers too`,
    );
  return problems;
}
