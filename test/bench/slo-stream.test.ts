import { describe, expect, it } from "vitest";
import { parseRetryAfter, SloStreamReader, verdictOf } from "../../bench/lib/slo-stream.js";

function data(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}

const VERDICT = { slo_class: "interactive", slo_met: false, ttft_met: false, tpot_met: true, e2e_met: true };
const STREAM =
  data({ choices: [{ index: 0, delta: { role: "assistant", content: "" } }] }) +
  data({ choices: [{ index: 0, delta: { content: "Hi" } }] }) +
  data({ choices: [{ index: 0, delta: { content: " you" } }] }) +
  data({ choices: [{ index: 0, delta: {}, finish_reason: "length" }] }) +
  data({ choices: [], usage: { completion_tokens: 2 }, tollgate: VERDICT }) +
  "data: [DONE]\n\n";

describe("SloStreamReader", () => {
  it.each([1, 5, 10_000])(
    "reads tokens, first content and the final chunk's verdict, %i characters at a time",
    (size) => {
      let first = 0;
      const reader = new SloStreamReader({ onFirstContent: () => first++ });
      for (let i = 0; i < STREAM.length; i += size) reader.push(STREAM.slice(i, i + size));
      expect(reader.finish(true)).toEqual({
        completionTokens: 2,
        verdict: { sloClass: "interactive", met: false, ttftMet: false, tpotMet: true, e2eMet: true },
      });
      expect(first).toBe(1);
    },
  );

  it("reads a verdict on a last line without a newline, and reports a stream cut before [DONE]", () => {
    const reader = new SloStreamReader();
    reader.push(`data: ${JSON.stringify({ choices: [], tollgate: { slo_class: "batch", slo_met: true } })}`);
    expect(reader.finish(true)).toEqual({
      completionTokens: 0,
      error: "stream ended before data: [DONE]",
      verdict: { sloClass: "batch", met: true },
    });
  });

  it("has no verdict when no chunk carries one, or the one it carries is malformed", () => {
    const none = new SloStreamReader();
    none.push(data({ choices: [{ index: 0, delta: { content: "x" } }] }) + "data: [DONE]\n\n");
    expect(none.finish(true)).toEqual({ completionTokens: 1 });
    const bad = new SloStreamReader();
    bad.push('data: {"tollgate": \n\ndata: [DONE]\n\n');
    expect(bad.finish(true).verdict).toBeUndefined();
  });
});

describe("verdictOf", () => {
  it("needs a class name and a boolean slo_met", () => {
    expect(verdictOf({ tollgate: { slo_class: "standard", slo_met: true } })).toEqual({
      sloClass: "standard",
      met: true,
    });
    expect(verdictOf({ tollgate: { slo_class: "standard", slo_met: "yes" } })).toBeUndefined();
    expect(verdictOf({ tollgate: { slo_met: true } })).toBeUndefined();
    expect(verdictOf({ tollgate: [] })).toBeUndefined();
    expect(verdictOf(null)).toBeUndefined();
  });
});

describe("parseRetryAfter", () => {
  it("reads delay-seconds, the first of repeated headers, and nothing else", () => {
    expect(parseRetryAfter("3")).toBe(3);
    expect(parseRetryAfter(" 0 ")).toBe(0);
    expect(parseRetryAfter(["2", "9"])).toBe(2);
    expect(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT")).toBeUndefined();
    expect(parseRetryAfter("1.5")).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
