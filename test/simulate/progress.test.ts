import { describe, expect, it } from "vitest";
import { progressBar, progressLine } from "../../src/simulate/progress.js";

const at = (simulatedS: number) => ({ simulatedS, totalS: 60, requests: 10, completed: 8 });

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (text: string) => writes.push(text) } };
}

describe("progressBar", () => {
  it("writes nothing when stderr is not a TTY", () => {
    const { writes, stream } = fakeStream(false);
    const bar = progressBar({ stream, now: () => 0 });
    bar.update(at(1));
    bar.update(at(30));
    bar.done();
    expect(writes).toEqual([]);
  });

  it("redraws at most every 100 ms of wall time and clears the line at the end", () => {
    const { writes, stream } = fakeStream(true);
    let now = 0;
    const bar = progressBar({ stream, now: () => now });
    for (let i = 0; i < 50; i++) {
      bar.update(at(i));
      now += 10;
    }
    expect(writes).toHaveLength(5);
    expect(writes[0]).toContain("0.0/60.0 s simulated, 10 requests, 8 done");
    bar.done();
    expect(writes.at(-1)).toBe("\r\x1b[2K");
  });

  it("shows a bar against the total, or simulated time alone for a trace", () => {
    expect(progressLine(at(30))).toMatch(/^\[#{15}\.{15}\] 30\.0\/60\.0 s/);
    expect(progressLine({ ...at(12), totalS: undefined })).toBe("12.0 s simulated, 10 requests, 8 done");
  });
});
