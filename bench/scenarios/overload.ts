import { startGateway } from "../harness/processes.js";
import { runClosedLoop } from "../lib/closed-loop.js";
import { runOpenLoop } from "../lib/open-loop.js";
import { CHAT_WORKLOAD, createWorkload, type WorkloadSpec } from "../lib/workload.js";
import type { Scenario } from "./types.js";

/**
 * Overload: first measure the fleet's capacity with a closed loop, then offer five times that rate open-loop.
 * Without admission control (issue 6) every request is queued, so this records how far latency degrades: the
 * baseline that SLO-aware shedding must beat.
 */
const SHORT_CHAT: WorkloadSpec = {
  ...CHAT_WORKLOAD,
  promptTokens: { median: 256, sigma: 0.5, min: 16, max: 1024 },
  outputTokens: { median: 48, sigma: 0.5, min: 1, max: 128 },
};

export const overload: Scenario = {
  name: "overload",
  description: "5x the measured capacity, open loop: what queueing without admission control does to latency",
  async run(context) {
    const settings = {
      capacityProbe: { connections: context.quick ? 32 : 128, durationSec: context.quick ? 3 : 15 },
      overloadFactor: 5,
      durationMs: context.quick ? 3000 : 20_000,
      maxInFlight: context.quick ? 2000 : 10_000,
    };
    const gateway = await startGateway("bench/configs/fleet.yaml");
    try {
      context.log("probing capacity with a closed loop");
      const probeWorkload = createWorkload(SHORT_CHAT);
      const capacity = await runClosedLoop({
        url: `${gateway.baseUrl}/v1/chat/completions`,
        ...settings.capacityProbe,
        next: () => probeWorkload.next(),
        timeoutSec: 300,
      });
      const rate = Math.max(1, Math.round(capacity.requestsPerSecond * settings.overloadFactor));
      context.log(`capacity ~${capacity.requestsPerSecond.toFixed(1)} req/s; offering ${rate} req/s`);
      const workload = createWorkload({ ...SHORT_CHAT, seed: 2 });
      const result = await runOpenLoop({
        baseUrl: gateway.baseUrl,
        rate,
        durationMs: settings.durationMs,
        arrivals: "poisson",
        seed: 5,
        maxInFlight: settings.maxInFlight,
        connections: 256,
        next: () => workload.next(),
        drainTimeoutMs: context.quick ? 30_000 : 180_000,
      });
      return {
        config: {
          gatewayConfig: "bench/configs/fleet.yaml",
          ...settings,
          offeredRate: rate,
          workload: SHORT_CHAT,
        },
        results: {
          capacity: { "closed loop probe": capacity },
          overload: { [`open loop at ${settings.overloadFactor}x`]: result },
        },
        notes: [
          `capacity probe: ${capacity.requestsPerSecond.toFixed(1)} req/s at p50 ${capacity.latency.p50.toFixed(0)} ms`,
          `at ${rate} req/s offered: ${result.ok} ok of ${result.sent} sent (${result.dropped} not sent: client in-flight cap), e2e p50 ${result.e2e.p50.toFixed(0)} ms, p99 ${result.e2e.p99.toFixed(0)} ms; TTFT p99 ${result.ttft.p99.toFixed(0)} ms`,
          "no admission control yet (issue 6): every admitted request waits in the engines' queues, so latency grows with the backlog instead of load being shed",
        ],
      };
    } finally {
      await gateway.stop();
    }
  },
};
