import { describe, expect, it } from "vitest";
import {
  type BotFloodRun,
  botFloodTable,
  floodOutcomes,
  type GuardCounters,
  guardCounters,
} from "../../bench/lib/bot-flood-report.js";
import { EMPTY_LATENCY } from "../../bench/lib/histogram.js";
import { parseExposition } from "../../bench/lib/metrics-scrape.js";
import type { OpenLoopResult } from "../../bench/lib/open-loop.js";

const BEFORE = `tollgate_challenges_issued_total 2
tollgate_routing_decisions_total{model="m",policy="p",deployment="d"} 1
tollgate_guard_requests_total{decision="allowed",reason="ok",tier="paid"} 1
`;

const AFTER = `tollgate_challenges_issued_total 12
tollgate_challenge_verifications_total{result="solved"} 3
tollgate_challenge_verifications_total{result="expired"} 0
tollgate_rate_limit_rejections_total{kind="concurrent"} 4
tollgate_routing_decisions_total{model="m",policy="p",deployment="d"} 30
tollgate_routing_decisions_total{model="m",policy="p",deployment="e"} 6
tollgate_guard_requests_total{decision="allowed",reason="ok",tier="paid"} 21
tollgate_guard_requests_total{decision="challenged",reason="risk",tier="anonymous"} 10
`;

function loop(o: Partial<OpenLoopResult>): OpenLoopResult {
  return {
    offered: 0,
    sent: 0,
    completed: 0,
    ok: 0,
    statusCounts: {},
    errors: 0,
    errorCounts: {},
    dropped: 0,
    unfinished: 0,
    durationMs: 1000,
    achievedRate: 0,
    requestsPerSecond: 0,
    completionTokensPerSecond: 0,
    maxSendLagMs: 0,
    ttft: EMPTY_LATENCY,
    e2e: EMPTY_LATENCY,
    ...o,
  };
}

const COUNTERS: GuardCounters = {
  challengesIssued: 40,
  verifications: {},
  rateLimited: { concurrent: 5 },
  decisions: {},
  routingDecisions: 70,
};

const RUN: BotFloodRun = {
  keyed: loop({ sent: 20, ok: 19, ttft: { ...EMPTY_LATENCY, p50: 12.4, p99: 80 }, e2e: EMPTY_LATENCY }),
  flood: loop({ sent: 100, statusCounts: { "200": 50, "403": 40, "429": 5, "503": 3 }, unfinished: 2 }),
  gateway: COUNTERS,
};

describe("guardCounters", () => {
  it("reads the guard's counters and the routing decisions as growth between two scrapes", () => {
    const counters = guardCounters({ before: parseExposition(BEFORE), after: parseExposition(AFTER) });
    expect(counters).toEqual({
      challengesIssued: 10,
      verifications: { solved: 3 },
      rateLimited: { concurrent: 4 },
      decisions: { "allowed/ok/paid": 20, "challenged/risk/anonymous": 10 },
      routingDecisions: 35,
    });
  });
});

describe("floodOutcomes", () => {
  it("counts the flood's requests by outcome and estimates those that reached a GPU", () => {
    expect(floodOutcomes(RUN)).toEqual({
      sent: 100,
      ok: 50,
      challenged: 40,
      limited: 5,
      other: 5,
      // 70 generations less the 19 keyed requests served.
      reachedGpu: 51,
      reachedGpuShare: 0.51,
    });
  });

  it("is all zero without a flood, and never negative", () => {
    const outcomes = floodOutcomes({ keyed: RUN.keyed, gateway: { ...COUNTERS, routingDecisions: 3 } });
    expect(outcomes).toEqual({
      sent: 0,
      ok: 0,
      challenged: 0,
      limited: 0,
      other: 0,
      reachedGpu: 0,
      reachedGpuShare: 0,
    });
  });
});

describe("botFloodTable", () => {
  it("lays out one aligned line per run, with dashes for what a run did not have", () => {
    const lines = botFloodTable({
      "guard on": RUN,
      baseline: { keyed: RUN.keyed, gateway: { ...COUNTERS, challengesIssued: 0 } },
      solving: { ...RUN, floodSolver: { solved: 7 } as BotFloodRun["floodSolver"] },
    });
    expect(lines).toHaveLength(4);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    expect(lines[0]).toMatch(/^run\s+keyed\s+ok\s+TTFT p50\s+TTFT p99/);
    expect(lines[1]!.split(/\s{2,}/)).toEqual([
      "guard on",
      "20",
      "95%",
      "12",
      "80",
      "0",
      "0",
      "100",
      "50",
      "40",
      "5",
      "5",
      "51%",
      "40",
      "-",
    ]);
    expect(lines[2]!.split(/\s{2,}/).slice(7)).toEqual(["-", "-", "-", "-", "-", "-", "0", "-"]);
    expect(lines[3]!.trim().endsWith("7")).toBe(true);
  });
});
