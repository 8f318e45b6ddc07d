import { describe, expect, it } from "vitest";
import { gatewayDelta } from "../../bench/lib/gateway-delta.js";
import { parseExposition } from "../../bench/lib/metrics-scrape.js";

const BEFORE = `tollgate_response_cost_usd_count{model="m"} 10
tollgate_cost_usd_total{model="m",deployment="d"} 1
tollgate_gpu_seconds_total{model="m",deployment="d"} 5
tollgate_replica_busy_seconds_total{replica="r0"} 1
tollgate_replica_busy_seconds_total{replica="r1"} 1
tollgate_batch_size_sum{model="m"} 4
tollgate_batch_size_count{model="m"} 2
tollgate_queue_time_seconds_sum{class="standard"} 0.1
tollgate_queue_time_seconds_count{class="standard"} 10
tollgate_queue_time_seconds_count{class="batch"} 100
`;

// Over 2 s on 2 replicas: 20 responses; 6 requests released in 3 batches and 6 dispatched on arrival.
const AFTER = `tollgate_response_cost_usd_count{model="m"} 30
tollgate_cost_usd_total{model="m",deployment="d"} 3
tollgate_gpu_seconds_total{model="m",deployment="d"} 15
tollgate_replica_busy_seconds_total{replica="r0"} 3
tollgate_replica_busy_seconds_total{replica="r1"} 2
tollgate_batch_size_sum{model="m"} 10
tollgate_batch_size_count{model="m"} 5
tollgate_queue_time_seconds_sum{class="standard"} 0.34
tollgate_queue_time_seconds_count{class="standard"} 22
tollgate_queue_time_seconds_count{class="batch"} 200
`;

describe("gatewayDelta", () => {
  it("turns two scrapes into per-response cost, busy share, batch sizes and queue time", () => {
    const delta = gatewayDelta({
      before: parseExposition(BEFORE),
      after: parseExposition(AFTER),
      durationMs: 2000,
      replicas: 2,
      sloClass: "standard",
    });
    expect(delta.responses).toBe(20);
    expect(delta.costPerResponseUsd).toBeCloseTo(0.1);
    expect(delta.gpuSecondsPerResponse).toBeCloseTo(0.5);
    expect(delta.busyFraction).toBeCloseTo(3 / 4);
    expect(delta.batches).toBe(3);
    expect(delta.meanBatchSize).toBe(2);
    // 12 dispatched: 6 released in 3 batches, 6 on arrival as groups of one.
    expect(delta.meanDispatchGroup).toBeCloseTo(12 / 9);
    expect(delta.meanQueueMs).toBeCloseTo(20);
  });

  it("reads 0 for every ratio of an idle interval", () => {
    const samples = parseExposition(BEFORE);
    const delta = gatewayDelta({
      before: samples,
      after: samples,
      durationMs: 0,
      replicas: 2,
      sloClass: "x",
    });
    expect(delta).toEqual({
      responses: 0,
      costPerResponseUsd: 0,
      gpuSecondsPerResponse: 0,
      busyFraction: 0,
      batches: 0,
      meanBatchSize: 0,
      meanDispatchGroup: 0,
      meanQueueMs: 0,
    });
  });
});
