import { describe, expect, it } from "vitest";
import type { Sender } from "../../bench/lib/sender.js";
import { WindowedStats } from "../../bench/lib/windowed-stats.js";
import type { WorkloadRequest } from "../../bench/lib/workload.js";
import { fakeRequest } from "../helpers/loopback.js";

const REQUEST: WorkloadRequest = fakeRequest();

/** A fake clock and a sender that answers after `firstMs` with a first byte and ends `restMs` later. */
function setup() {
  let now = 0;
  const stats = new WindowedStats({ now: () => now });
  const sender =
    (o: { status?: number; tokens: number; firstMs?: number; restMs: number; error?: string }): Sender =>
    async (_request, onFirstByte) => {
      if (o.firstMs !== undefined) {
        now += o.firstMs;
        onFirstByte();
      }
      now += o.restMs;
      return {
        status: o.status ?? 200,
        completionTokens: o.tokens,
        ...(o.error !== undefined && { error: o.error }),
      };
    };
  return { stats, sender, advance: (ms: number) => (now += ms) };
}

describe("WindowedStats", () => {
  it("records TTFT, TPOT, responses and tokens of 200 responses sent inside the window", async () => {
    const { stats, sender, advance } = setup();
    const ok = stats.measure(sender({ tokens: 11, firstMs: 40, restMs: 100 }));
    let firstBytes = 0;
    await ok(REQUEST, () => firstBytes++); // before the window: not recorded
    stats.open();
    const outcome = await ok(REQUEST, () => firstBytes++);
    expect(outcome).toEqual({ status: 200, completionTokens: 11 });
    await stats.measure(sender({ tokens: 1, firstMs: 20, restMs: 0 }))(REQUEST, () => {});
    advance(60);
    expect(stats.close()).toBe(220);
    advance(1);
    await ok(REQUEST, () => {}); // after the window: not recorded
    expect(firstBytes).toBe(2);
    expect(stats.responses).toBe(2);
    expect(stats.tokens).toBe(12);
    expect(stats.ttft.summary()).toMatchObject({ count: 2, max: 40 });
    // 100 ms for the 10 tokens after the first; a one-token response has no TPOT.
    expect(stats.tpot.summary().count).toBe(1);
    expect(stats.tpot.summary().p50).toBeCloseTo(10, 1);
  });

  it("counts by send time: a request sent in the window and finished after it counts", async () => {
    const { stats, sender } = setup();
    const slow = stats.measure(async (request, onFirstByte, signal) => {
      stats.close(); // the window closes at the send, before the response arrives
      return sender({ tokens: 2, firstMs: 10, restMs: 10 })(request, onFirstByte, signal);
    });
    stats.open();
    await slow(REQUEST, () => {});
    expect(stats.responses).toBe(1);
  });

  it("leaves out errors, non-200 statuses and responses without a first byte", async () => {
    const { stats, sender } = setup();
    stats.open();
    await stats.measure(sender({ status: 503, tokens: 0, firstMs: 5, restMs: 0 }))(REQUEST, () => {});
    await stats.measure(sender({ tokens: 3, firstMs: 5, restMs: 5, error: "cut off" }))(REQUEST, () => {});
    await stats.measure(sender({ tokens: 0, restMs: 5 }))(REQUEST, () => {});
    expect(stats.responses).toBe(0);
    expect(stats.ttft.summary().count).toBe(0);
  });
});
