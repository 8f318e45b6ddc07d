import type { FuzzCase } from "./fuzz-cases.js";
import { type RawResponse, sendRaw } from "./raw-http.js";

/** What a fuzz run found: counts by status and by kind, and every response that broke a rule. */
export interface FuzzTally {
  cases: number;
  byStatus: Record<string, number>;
  /** Counts by case kind, then by status. */
  byKind: Record<string, Record<string, number>>;
  violations: FuzzViolation[];
  /**
   * Bodies over a route's limit whose answer never arrived: the server refused them early (413) and closed
   * the connection with the rest unread, so its kernel reset it under the client's write and the answer was
   * lost (an HTTP-edge issue: no lingering close). Counted, not hidden; not a crash (the server answers on).
   */
  resetsWhileSending: { index: number; kind: string; path: string; bodyBytes: number; error: string }[];
  /** The five slowest answers. */
  slowest: { index: number; kind: string; path: string; status: number; ms: number }[];
}

export interface FuzzViolation {
  index: number;
  kind: string;
  method: string;
  path: string;
  status: number;
  problem: string;
  /** The start of the response body. */
  body: string;
}

/**
 * The rules every answer must keep: a response (no hang, no reset without one), never a 5xx, and every error
 * the app writes an OpenAI error body in JSON. Exempt from the body rule: a HEAD (no body by definition),
 * requests refused before the app sees them (Node's parser and @hono/node-server write a bare 400 or 431; see
 * FuzzCase.beforeApp), and the guard's challenge page, which is HTML by design for a client that asked for it.
 */
export function checkResponse(c: FuzzCase, res: RawResponse): string | undefined {
  if (res.status === 0) return `no response (${res.error})`;
  if (res.status >= 500) return `status ${res.status}`;
  if (res.status < 400 || c.beforeApp || c.method.toUpperCase() === "HEAD") return undefined;
  const type = res.headers["content-type"] ?? "";
  if (c.acceptsHtml && res.status === 403 && type.startsWith("text/html")) return undefined;
  if (!type.startsWith("application/json")) return `error with content-type '${type}'`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.body.toString("utf8"));
  } catch {
    return "error body is not JSON";
  }
  return isOpenAiError(parsed) ? undefined : "error body is not {error:{message,type,param,code}}";
}

/** Bodies larger than the smallest route limit (4 KiB, the challenge endpoint's) that met a reset before any answer. */
export function isResetWhileSending(c: FuzzCase, res: RawResponse): boolean {
  return res.status === 0 && c.bodyBytes > 4096 && /EPIPE|ECONNRESET/.test(res.error ?? "");
}

function isOpenAiError(value: unknown): boolean {
  const error = (value as { error?: Record<string, unknown> } | null)?.error;
  return (
    typeof error === "object" &&
    error !== null &&
    typeof error["message"] === "string" &&
    typeof error["type"] === "string" &&
    typeof error["code"] === "string" &&
    (error["param"] === null || typeof error["param"] === "string")
  );
}

/** Sends every case to the server on `port`, `concurrency` at a time, and checks each answer. */
export async function runFuzz(options: {
  port: number;
  cases: Iterable<FuzzCase>;
  concurrency: number;
  timeoutMs: number;
}): Promise<FuzzTally> {
  const tally: FuzzTally = {
    cases: 0,
    byStatus: {},
    byKind: {},
    violations: [],
    resetsWhileSending: [],
    slowest: [],
  };
  const iterator = options.cases[Symbol.iterator]();
  const worker = async () => {
    for (let next = iterator.next(); !next.done; next = iterator.next()) {
      const c = next.value;
      const res = await sendRaw({ port: options.port, bytes: c.bytes, timeoutMs: options.timeoutMs });
      const status = String(res.status);
      tally.cases++;
      tally.slowest.push({
        index: c.index,
        kind: c.kind,
        path: c.path,
        status: res.status,
        ms: Math.round(res.ms),
      });
      tally.slowest.sort((a, b) => b.ms - a.ms).splice(5);
      tally.byStatus[status] = (tally.byStatus[status] ?? 0) + 1;
      const kind = tally.byKind[c.kind] ?? {};
      tally.byKind[c.kind] = kind;
      kind[status] = (kind[status] ?? 0) + 1;
      const problem = checkResponse(c, res);
      if (isResetWhileSending(c, res)) {
        tally.resetsWhileSending.push({
          index: c.index,
          kind: c.kind,
          path: c.path,
          bodyBytes: c.bodyBytes,
          error: res.error ?? "",
        });
      } else if (problem !== undefined) {
        tally.violations.push({
          index: c.index,
          kind: c.kind,
          method: c.method,
          path: c.path,
          status: res.status,
          problem,
          body: res.body.subarray(0, 300).toString("utf8"),
        });
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return tally;
}
