import { describe, expect, it } from "vitest";
import { excessNesting } from "../../src/http/json-depth.js";

const nest = (levels: number, inner = "1") => `${"[".repeat(levels)}${inner}${"]".repeat(levels)}`;

describe("excessNesting", () => {
  it("accepts nesting up to the limit and reports the first container past it", () => {
    expect(excessNesting(nest(4), 4)).toBeUndefined();
    expect(excessNesting(nest(5), 4)).toEqual({ param: null });
    expect(excessNesting("{}", 1)).toBeUndefined();
    expect(excessNesting('{"a":{}}', 1)).toEqual({ param: "a" });
  });

  it("names the top-level field, with the element index when that field is an array", () => {
    const body = `{"model":"m","messages":[{"role":"user"},{"role":"assistant","tool_calls":${nest(70)}}]}`;
    expect(excessNesting(body, 64)).toEqual({ param: "messages[1]" });
    expect(excessNesting(`{"model":"m","logit_bias":{"a":${nest(70)}}}`, 64)).toEqual({
      param: "logit_bias",
    });
    expect(excessNesting(`{"x":"[[[[","tools":[1,2,${nest(10)}]}`, 4)).toEqual({ param: "tools[2]" });
  });

  it("ignores brackets, commas and escaped quotes inside strings", () => {
    const tricky = JSON.stringify({ text: `${"[{".repeat(500)} \\" \\\\" , ]`, list: ["\\", '"[', "{,}"] });
    expect(excessNesting(tricky, 2)).toBeUndefined();
    expect(JSON.parse(tricky)).toBeTruthy();
    // The key is read back as JSON: escapes decoded, long keys cut.
    expect(excessNesting(`{"we\\"ird":{"a":{}}}`, 2)).toEqual({ param: 'we"ird' });
    expect(excessNesting(`{"${"k".repeat(100)}":${nest(3)}}`, 2)?.param).toBe(`${"k".repeat(64)}...[0]`);
  });

  it("scans 10,000 levels and a 1 MiB string without recursing", () => {
    expect(excessNesting(nest(10_000), 64)).toEqual({ param: null });
    expect(excessNesting(`{"a":"${"\\\\".repeat(500_000)}"}`, 64)).toBeUndefined();
    // Unclosed strings and stray closers are left for JSON.parse to report.
    expect(excessNesting('{"a":"never closed', 64)).toBeUndefined();
    expect(excessNesting("]]]]{}", 1)).toBeUndefined();
  });
});
