import { startGateway } from "../harness/processes.js";
import { runOpenLoop } from "../lib/open-loop.js";
import { CHAT_WORKLOAD, createWorkload } from "../lib/workload.js";
import type { Scenario } from "./types.js";

/**
 * Streaming chat at a fixed offered load (Poisson arrivals): TTFT and end-to-end latency per request, measured
 * from each request's intended send time, against the simulated 2 x H100 fleet.
 */
export const streamingChat: Scenario = {
  name: "streaming-chat",
  description: "Open-loop (Poisson) streaming chat: TTFT and end-to-end latency under a fixed offered load",
  async run(context) {
    const workloadSpec = {
      ...CHAT_WORKLOAD,
      stream: true,
      includeUsage: true,
      ...(context.quick && { outputTokens: { median: 32, sigma: 0.5, min: 1, max: 64 } }),
    };
    const settings = {
      rate: context.quick ? 5 : 20,
      durationMs: context.quick ? 4000 : 60_000,
      arrivals: "poisson" as const,
    };
    const gateway = await startGateway("bench/configs/fleet.yaml");
    try {
      const workload = createWorkload(workloadSpec);
      context.log(`open loop: ${settings.rate} req/s Poisson for ${settings.durationMs / 1000} s`);
      const result = await runOpenLoop({
        baseUrl: gateway.baseUrl,
        ...settings,
        seed: 11,
        next: () => workload.next(),
        drainTimeoutMs: 120_000,
      });
      return {
        config: { gatewayConfig: "bench/configs/fleet.yaml", ...settings, workload: workloadSpec },
        results: { "open loop": { [`Tollgate at ${settings.rate} req/s`]: result } },
        notes: [
          `offered ${settings.rate} req/s, achieved ${result.achievedRate.toFixed(2)}; TTFT p50 ${result.ttft.p50.toFixed(0)} ms / p99 ${result.ttft.p99.toFixed(0)} ms; e2e p50 ${result.e2e.p50.toFixed(0)} ms / p99 ${result.e2e.p99.toFixed(0)} ms; ${result.completionTokensPerSecond.toFixed(0)} tokens/s`,
          `${result.ok} of ${result.sent} succeeded; statuses ${JSON.stringify(result.statusCounts)}`,
        ],
      };
    } finally {
      await gateway.stop();
    }
  },
};
