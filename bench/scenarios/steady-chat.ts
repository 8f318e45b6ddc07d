import { startGateway } from "../harness/processes.js";
import { runClosedLoop } from "../lib/closed-loop.js";
import { CHAT_WORKLOAD, createWorkload, type WorkloadSpec } from "../lib/workload.js";
import type { Scenario } from "./types.js";

/**
 * Steady non-streamed chat: a closed loop of realistic requests (CHAT_WORKLOAD: prompt and output lengths from
 * a conversation trace, half of them behind one of four shared system prompts) against two simulated H100s
 * running Llama-3.1-8B on the roofline model, in real time.
 */
export const steadyChat: Scenario = {
  name: "steady-chat",
  description: "Closed-loop non-streamed chat against a simulated 2 x H100 Llama-3.1-8B fleet",
  async run(context) {
    const workloadSpec: WorkloadSpec = context.quick
      ? { ...CHAT_WORKLOAD, outputTokens: { median: 32, sigma: 0.5, min: 1, max: 64 } }
      : { ...CHAT_WORKLOAD };
    const settings = { connections: context.quick ? 8 : 64, durationSec: context.quick ? 3 : 30 };
    const gateway = await startGateway("bench/configs/fleet.yaml");
    try {
      const workload = createWorkload(workloadSpec);
      context.log(`closed loop: ${settings.connections} connections for ${settings.durationSec} s`);
      const result = await runClosedLoop({
        url: `${gateway.baseUrl}/v1/chat/completions`,
        connections: settings.connections,
        durationSec: settings.durationSec,
        next: () => workload.next(),
        // Long answers on a busy fleet take tens of seconds; autocannon's 10 s default would cut them off.
        timeoutSec: 300,
      });
      const notes = [
        `${result.requestsPerSecond.toFixed(1)} req/s, ${result.completionTokensPerSecond?.toFixed(0) ?? "?"} completion tokens/s; p50 ${result.latency.p50.toFixed(0)} ms, p99 ${result.latency.p99.toFixed(0)} ms end to end`,
        `${result.non2xx} non-2xx responses, ${result.errors} errors, ${result.timeouts} timeouts`,
      ];
      return {
        config: { gatewayConfig: "bench/configs/fleet.yaml", ...settings, workload: workloadSpec },
        results: { "closed loop": { "Tollgate, 2 x H100 Llama-3.1-8B": result } },
        notes,
      };
    } finally {
      await gateway.stop();
    }
  },
};
