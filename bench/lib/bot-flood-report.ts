import type { ChallengeStats } from "./challenge-solver.js";
import { metricDelta, metricDeltaBy, type ScrapePair } from "./metrics-scrape.js";
import type { OpenLoopResult } from "./open-loop.js";

/** What the gateway's /metrics say about one run: the guard's counters and the generations it started. */
export interface GuardCounters {
  challengesIssued: number;
  /** tollgate_challenge_verifications_total by result. */
  verifications: Record<string, number>;
  /** tollgate_rate_limit_rejections_total by kind. */
  rateLimited: Record<string, number>;
  /** tollgate_guard_requests_total by `decision/reason/tier`. */
  decisions: Record<string, number>;
  /** tollgate_routing_decisions_total: replicas picked, one per generation started on a GPU (retries too). */
  routingDecisions: number;
}

/** One run of the scenario: keyed clients and the anonymous flood, side by side against one gateway. */
export interface BotFloodRun {
  keyed: OpenLoopResult;
  /** Absent in the baseline run without a flood. */
  flood?: OpenLoopResult;
  gateway: GuardCounters;
  /** Set when the clients solved challenges. */
  keyedSolver?: ChallengeStats;
  floodSolver?: ChallengeStats;
}

/** The flood's requests by how they ended; `other` is 503s, other statuses, errors and unfinished ones. */
export interface FloodOutcomes {
  sent: number;
  ok: number;
  challenged: number;
  limited: number;
  other: number;
  /** Flood requests that started a generation: routing decisions less the keyed requests served (>= 0). */
  reachedGpu: number;
  /** `reachedGpu / sent`. */
  reachedGpuShare: number;
}

export function guardCounters(pair: ScrapePair): GuardCounters {
  const by = (name: string, label: string) =>
    Object.fromEntries([...metricDeltaBy(pair, name, label)].filter(([, n]) => n !== 0));
  const decisions: Record<string, number> = {};
  for (const s of pair.after) {
    if (s.name !== "tollgate_guard_requests_total") continue;
    const { decision = "", reason = "", tier = "" } = s.labels;
    const n = metricDelta(pair, s.name, { decision, reason, tier });
    if (n !== 0) decisions[`${decision}/${reason}/${tier}`] = n;
  }
  return {
    challengesIssued: metricDelta(pair, "tollgate_challenges_issued_total"),
    verifications: by("tollgate_challenge_verifications_total", "result"),
    rateLimited: by("tollgate_rate_limit_rejections_total", "kind"),
    decisions,
    routingDecisions: metricDelta(pair, "tollgate_routing_decisions_total"),
  };
}

/** How the flood's requests ended; all zero in a run without a flood. */
export function floodOutcomes(run: BotFloodRun): FloodOutcomes {
  const statusCounts = run.flood?.statusCounts ?? {};
  const sent = run.flood?.sent ?? 0;
  const count = (match: (status: string) => boolean) =>
    Object.entries(statusCounts).reduce((n, [status, k]) => n + (match(status) ? k : 0), 0);
  const ok = count((s) => s.startsWith("2"));
  const challenged = count((s) => s === "403");
  const limited = count((s) => s === "429");
  const reachedGpu = Math.min(sent, Math.max(0, run.gateway.routingDecisions - run.keyed.ok));
  return {
    sent,
    ok,
    challenged,
    limited,
    other: sent - ok - challenged - limited,
    reachedGpu,
    reachedGpuShare: sent > 0 ? reachedGpu / sent : 0,
  };
}

const HEADER = [
  "run",
  "keyed",
  "ok",
  "TTFT p50",
  "TTFT p99",
  "e2e p50",
  "e2e p99",
  "flood",
  "200",
  "403",
  "429",
  "other",
  "GPU",
  "issued",
  "solved",
];

/**
 * A fixed-width table, one line per run: keyed requests sent, their success rate, TTFT and end-to-end p50/p99
 * (ms) of the successful ones; flood requests sent and how they ended (200, 403 challenged, 429 limited,
 * other), the share that reached a GPU, challenges the gateway issued and passes the clients obtained ("-"
 * where a run has no flood or no solving clients). Lines,
 * as class-report.ts explains: report.ts renders only latency tables.
 */
export function botFloodTable(runs: Readonly<Record<string, BotFloodRun>>): string[] {
  const rows = Object.entries(runs).map(([name, run]) => {
    const f = floodOutcomes(run);
    const { keyed } = run;
    const served = keyed.ok > 0;
    const ms = (x: number) => (served ? x.toFixed(0) : "-");
    const solved = (run.keyedSolver?.solved ?? 0) + (run.floodSolver?.solved ?? 0);
    const flood = (n: number) => (run.flood === undefined ? "-" : String(n));
    return [
      name,
      String(keyed.sent),
      percent(keyed.sent > 0 ? keyed.ok / keyed.sent : 0),
      ms(keyed.ttft.p50),
      ms(keyed.ttft.p99),
      ms(keyed.e2e.p50),
      ms(keyed.e2e.p99),
      flood(f.sent),
      flood(f.ok),
      flood(f.challenged),
      flood(f.limited),
      flood(f.other),
      run.flood === undefined ? "-" : percent(f.reachedGpuShare),
      String(run.gateway.challengesIssued),
      run.keyedSolver === undefined && run.floodSolver === undefined ? "-" : String(solved),
    ];
  });
  const text = [HEADER, ...rows];
  const widths = HEADER.map((_, i) => Math.max(...text.map((cells) => cells[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  return text.map(line);
}

function percent(x: number): string {
  return `${(100 * x).toFixed(x > 0 && x < 0.01 ? 1 : 0)}%`;
}
