import { LatencyHistogram, type LatencySummary } from "./histogram.js";
import type { HttpOutcome } from "./http-sender.js";
import type { SolveFn } from "./pow-solver.js";
import type { Sender } from "./sender.js";
import type { WorkloadRequest } from "./workload.js";

/** The puzzle of a 403 `challenge_required` answer (README: "Challenge protocol"). */
export interface Challenge {
  id: string;
  seed: string;
  algorithm: string;
  difficulty: number;
  expires_at: number;
}

/** One attempt as http-sender.ts's `sendWithHeaders` makes it: the outcome, with a non-2xx answer's body. */
export type Attempt = (
  request: WorkloadRequest,
  onFirstByte: () => void,
  signal?: AbortSignal,
) => Promise<HttpOutcome>;

export interface ChallengeSolverOptions {
  /** Origin of the gateway: passes are asked of `${baseUrl}/v1/challenge/verify`. */
  baseUrl: string;
  attempt: Attempt;
  solve: SolveFn;
  /** Default the global fetch. */
  fetch?: typeof fetch;
  /** Milliseconds, for the wait from a challenge to its pass; default performance.now. */
  now?: () => number;
}

export interface ChallengeStats {
  /** Answers that were a 403 challenge_required (first attempts and retries alike). */
  challenged: number;
  /** Passes obtained: puzzles solved and accepted by the verify endpoint. */
  solved: number;
  /** Solves or verifications that failed; the request then ends as the 403 it got. */
  failed: number;
  /** Requests sent again with a pass after a challenge (at most once each). */
  retried: number;
  /** Difficulty (leading zero bits) of each solved puzzle -> how many. */
  difficulties: Record<string, number>;
  /** Hashing time summed over the solved puzzles: the CPU the clients paid. */
  computeMsTotal: number;
  /** From a challenge to its pass (queueing for the solver, hashing, verifying), per solved puzzle. */
  passWait: LatencySummary;
}

export interface ChallengeSolver {
  /** Sends a request with its client's pass, if any; on a challenge, gets a pass and sends it once more. */
  send: Sender;
  stats(): ChallengeStats;
}

export const PASS_HEADER = "x-tollgate-pass";
export const VERIFY_PATH = "/v1/challenge/verify";

/**
 * A client that answers the guard's proof-of-work challenges, as a legitimate script would: on a 403
 * `challenge_required` it solves the puzzle, POSTs the nonce to the verify endpoint with the same identity
 * headers, keeps the pass for that client and retries the request once with `x-tollgate-pass`. Later requests of
 * the client carry the pass from the start.
 *
 * A client is what the gateway binds a pass to: its API key, else its address. Over loopback the address is
 * the `x-forwarded-for` a simulated client sends (the gateway must trust 127.0.0.1 as a proxy), else one shared
 * peer. Concurrent challenges of one client share a single solve: one pass serves them all.
 */
export function createChallengeSolver(options: ChallengeSolverOptions): ChallengeSolver {
  const { attempt, solve } = options;
  const fetchFn = options.fetch ?? fetch;
  const now = options.now ?? (() => performance.now());
  const verifyUrl = new URL(VERIFY_PATH, options.baseUrl).href;
  const passes = new Map<string, string>();
  const solving = new Map<string, Promise<string>>();
  const passWait = new LatencyHistogram();
  const stats = { challenged: 0, solved: 0, failed: 0, retried: 0, computeMsTotal: 0 };
  const difficulties: Record<string, number> = {};

  const obtainPass = async (
    client: string,
    request: WorkloadRequest,
    challenge: Challenge,
    stale?: string,
  ) => {
    const held = passes.get(client);
    if (held !== undefined && held !== stale) return held; // another request of this client got one meanwhile
    const running = solving.get(client);
    if (running !== undefined) return running;
    const startedAt = now();
    const work = (async () => {
      const { nonce, computeMs } = await solve(challenge.seed, challenge.difficulty);
      const response = await fetchFn(verifyUrl, {
        method: "POST",
        headers: { ...identityHeaders(request.headers), "content-type": "application/json" },
        body: JSON.stringify({ id: challenge.id, nonce, solve_ms: Math.round(computeMs) }),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`verify answered ${response.status}: ${text.slice(0, 200)}`);
      const pass = (JSON.parse(text) as { pass?: unknown }).pass;
      if (typeof pass !== "string") throw new Error("verify answered without a pass");
      passes.set(client, pass);
      stats.solved++;
      stats.computeMsTotal += computeMs;
      difficulties[challenge.difficulty] = (difficulties[challenge.difficulty] ?? 0) + 1;
      passWait.record(now() - startedAt);
      return pass;
    })();
    solving.set(client, work);
    try {
      return await work;
    } finally {
      solving.delete(client);
    }
  };

  const send: Sender = async (request, onFirstByte, signal) => {
    const client = clientOf(request.headers);
    const held = passes.get(client);
    const first = await attempt(withPass(request, held), onFirstByte, signal);
    const challenge = first.status === 403 ? parseChallenge(first.errorBody) : undefined;
    if (challenge === undefined) return outcomeOf(first);
    stats.challenged++;
    let pass: string;
    try {
      pass = await obtainPass(client, request, challenge, held);
    } catch {
      stats.failed++;
      return outcomeOf(first);
    }
    stats.retried++;
    const second = await attempt(withPass(request, pass), onFirstByte, signal);
    if (second.status === 403 && parseChallenge(second.errorBody) !== undefined) stats.challenged++;
    return outcomeOf(second);
  };

  return {
    send,
    stats: () => ({ ...stats, difficulties: { ...difficulties }, passWait: passWait.summary() }),
  };
}

/** The puzzle in a 403 body, or undefined when the body is not a `challenge_required` error. */
export function parseChallenge(body: string | undefined): Challenge | undefined {
  if (body === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const error = field(parsed, "error");
  if (field(error, "code") !== "challenge_required") return undefined;
  const c = field(error, "challenge");
  const id = field(c, "id");
  const seed = field(c, "seed");
  const difficulty = field(c, "difficulty");
  if (typeof id !== "string" || typeof seed !== "string" || typeof difficulty !== "number") return undefined;
  const algorithm = field(c, "algorithm");
  const expiresAt = field(c, "expires_at");
  return {
    id,
    seed,
    difficulty,
    algorithm: typeof algorithm === "string" ? algorithm : "sha256",
    expires_at: typeof expiresAt === "number" ? expiresAt : 0,
  };
}

/** The client a pass is bound to, as far as its headers tell: its API key, else its forwarded address. */
export function clientOf(headers: Readonly<Record<string, string>>): string {
  const key = headers["authorization"];
  if (key !== undefined) return `key ${key}`;
  return `ip ${headers["x-forwarded-for"] ?? "peer"}`;
}

function identityHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of ["authorization", "x-forwarded-for"]) {
    const value = headers[name];
    if (value !== undefined) picked[name] = value;
  }
  return picked;
}

function withPass(request: WorkloadRequest, pass: string | undefined): WorkloadRequest {
  return pass === undefined ? request : { ...request, headers: { ...request.headers, [PASS_HEADER]: pass } };
}

/** A {@link Sender}'s outcome: the attempt's without the headers and error body. */
function outcomeOf(outcome: HttpOutcome): Awaited<ReturnType<Sender>> {
  const { headers: _headers, errorBody: _errorBody, ...rest } = outcome;
  return rest;
}

function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)[name]
    : undefined;
}
