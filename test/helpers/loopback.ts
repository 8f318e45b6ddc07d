import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach } from "vitest";
import type { WorkloadRequest } from "../../bench/lib/workload.js";

/**
 * Loopback HTTP servers for one test file (or describe block): `serve(handler)` starts one on an ephemeral
 * port and resolves to its origin; every server started is closed after each test.
 */
export function loopbackServers(): (handler: RequestListener) => Promise<string> {
  const open: ReturnType<typeof createServer>[] = [];
  afterEach(async () => {
    await Promise.all(
      open.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
  });
  return async (handler) => {
    const server = createServer(handler);
    open.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
}

/** A request listener that reads the whole body (UTF-8) before answering. */
export function withBody(
  handler: (body: string, req: IncomingMessage, res: ServerResponse) => void,
): RequestListener {
  return (req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => handler(body, req, res));
  };
}

/** A workload request for senders and load loops that never look at the workload itself. */
export function fakeRequest(fields: Partial<WorkloadRequest> = {}): WorkloadRequest {
  const body = fields.body ?? {};
  return {
    body,
    bodyText: JSON.stringify(body),
    headers: {},
    promptTokens: 1,
    userTokens: 1,
    maxTokens: 8,
    repeated: false,
    ...fields,
  };
}
