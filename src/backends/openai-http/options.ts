import type { Clock } from "../../core/clock.js";
import type { ReplicaInfo } from "../backend.js";

/** Deadlines of one upstream generation, in milliseconds on the injected clock (undici's own timers too). */
export interface OpenAiHttpTimeouts {
  /** TCP (and TLS) connect. */
  connectMs: number;
  /** From sending the request to the first content token (headers count toward it). */
  firstTokenMs: number;
  /** From sending the request to the end of the stream. */
  totalMs: number;
}

/** Passive health: the replica reports itself not ready after repeated connection failures. */
export interface OpenAiHttpHealthOptions {
  /** Consecutive connection failures before `ready` goes false (default 3). */
  failuresBeforeUnready?: number;
  /**
   * While unready, `ready` turns true again once this long has passed since the last failure (default 5000), so
   * the router sends one request as a probe: readiness is passive, and a replica nobody routes to could
   * otherwise never prove it came back.
   */
  probeAfterMs?: number;
}

export interface OpenAiHttpBackendOptions {
  /** gpu is `external` unless known; the price is used by cost accounting. */
  replica: ReplicaInfo;
  /** Server root, e.g. `http://127.0.0.1:8000`; `/v1/...` is appended. A path prefix is kept. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Extra upstream headers (e.g. `api-key` for Azure, an org id); they cannot replace the protocol headers. */
  headers?: Record<string, string>;
  /** Model name sent upstream (default: the request's model). */
  upstreamModel?: string;
  timeouts: OpenAiHttpTimeouts;
  /** Keep-alive connections in the undici Pool. */
  connections: number;
  clock: Clock;
  health?: OpenAiHttpHealthOptions;
}

/** Headers the backend sets itself; a caller's copy would be silently overwritten, so it is refused instead. */
const RESERVED_HEADERS = new Set([
  "accept",
  "authorization",
  "connection",
  "content-length",
  "content-type",
  "host",
  "transfer-encoding",
  "x-request-id",
]);

/** RFC 9110 token characters. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Checks the options once, at construction, and reports every bad field at once (name, rule, value). The
 * `authorization` header is reserved unless no apiKey is given, so a custom auth scheme is still possible.
 */
export function validateOpenAiHttpOptions(options: OpenAiHttpBackendOptions): void {
  const problems: string[] = [];
  const url = parseUrl(options.baseUrl);
  if (url === undefined) {
    problems.push(`baseUrl must be an http(s) URL (got ${JSON.stringify(options.baseUrl)})`);
  } else if (/\/v1\/?$/.test(url.pathname)) {
    problems.push(`baseUrl must be the server root without /v1, which is appended (got ${options.baseUrl})`);
  } else if (url.search !== "" || url.hash !== "") {
    problems.push(`baseUrl must not have a query or fragment (got ${options.baseUrl})`);
  }
  for (const key of ["connectMs", "firstTokenMs", "totalMs"] as const) {
    const value = options.timeouts[key];
    if (!Number.isFinite(value) || value <= 0) problems.push(`timeouts.${key} must be > 0 (got ${value})`);
  }
  if (options.timeouts.firstTokenMs > options.timeouts.totalMs) {
    problems.push(
      `timeouts.firstTokenMs must be <= timeouts.totalMs (got ${options.timeouts.firstTokenMs} > ${options.timeouts.totalMs})`,
    );
  }
  if (!Number.isInteger(options.connections) || options.connections < 1) {
    problems.push(`connections must be an integer >= 1 (got ${options.connections})`);
  }
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name)) problems.push(`headers: ${JSON.stringify(name)} is not a valid header name`);
    else if (RESERVED_HEADERS.has(lower) && !(lower === "authorization" && options.apiKey === undefined)) {
      problems.push(`headers.${name} is set by the backend and cannot be overridden`);
    }
    if (/[\r\n\0]/.test(value)) problems.push(`headers.${name} must not contain CR, LF or NUL`);
  }
  if (options.apiKey !== undefined && (options.apiKey === "" || /[\r\n\0]/.test(options.apiKey))) {
    problems.push("apiKey must be non-empty and must not contain CR, LF or NUL");
  }
  if (options.upstreamModel === "") problems.push("upstreamModel must not be empty");
  const failures = options.health?.failuresBeforeUnready;
  if (failures !== undefined && (!Number.isInteger(failures) || failures < 1)) {
    problems.push(`health.failuresBeforeUnready must be an integer >= 1 (got ${failures})`);
  }
  const probe = options.health?.probeAfterMs;
  if (probe !== undefined && (!Number.isFinite(probe) || probe < 0)) {
    problems.push(`health.probeAfterMs must be >= 0 (got ${probe})`);
  }
  if (problems.length > 0) {
    throw new Error(`openai-http backend ${options.replica.id}: ${problems.join("; ")}`);
  }
}

function parseUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url : undefined;
  } catch {
    return undefined;
  }
}
