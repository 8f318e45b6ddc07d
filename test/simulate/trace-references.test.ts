import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createCl100kTokenizer } from "../../src/core/tokenizer.js";
import { REPEAT_POOL_SIZE } from "../../src/simulate/recent-prompts.js";
import { type TraceLine, traceArrivals, writeTrace } from "../../src/simulate/trace.js";
import { type Arrival, arrivals, type WorkloadSpec } from "../../src/simulate/workload.js";
import { traceFiles } from "../helpers/trace-files.js";

const { dir, write: traceFile } = traceFiles("tollgate-trace-refs-");

const read = async (file: string, seed = 1): Promise<Arrival[]> => {
  const all: Arrival[] = [];
  for await (const a of traceArrivals({ file, seed })) all.push(a);
  return all;
};

/** Every knob on, with short prompts so the pool holds many requests cheaply. */
const SPEC: WorkloadSpec = {
  rate: 200,
  durationS: 15,
  model: "qwen",
  promptTokens: { median: 30, sigma: 0.6, min: 4, max: 200 },
  outputTokens: { median: 10, sigma: 0.5, min: 1, max: 64 },
  sloClassMix: { interactive: 1, standard: 2, batch: 1 },
  clients: 50,
  temperature: 0,
  sharedPrefix: { ratio: 0.5, prefixes: 4, tokens: 24 },
  repeatRatio: 0.3,
};

describe("trace round trip with shared prefixes and repeats", () => {
  it("replays a written synthetic workload as the same arrivals", async () => {
    const synthetic = [...arrivals(SPEC, 11)];
    expect(synthetic.length).toBeGreaterThan(2000);
    const file = join(dir, "knobs.jsonl");
    await writeTrace({ arrivals: arrivals(SPEC, 11), file });
    const lines = readFileSync(file, "utf8").trim().split("\n");
    const parsed = lines.map((line) => JSON.parse(line) as TraceLine);
    expect(parsed.some((l) => l.prefix_id === "shared-3" && l.prefix_tokens === 24)).toBe(true);
    const repeat = parsed.find((l) => l.prefix_id?.startsWith("#"));
    expect(repeat?.prefix_tokens).toBe(repeat?.prompt_tokens);
    expect(lines[0]).toMatch(/^\{"t":[\d.e-]+,"prompt_tokens":\d+,"output_tokens":\d+,/);
    expect(await read(file, 11)).toStrictEqual(synthetic);
  });
});

describe("trace #N prefixes", () => {
  it("start a line with the first prefix_tokens tokens of request N; covering it whole, repeat it", async () => {
    const tokenizer = createCl100kTokenizer();
    const all = await read(
      traceFile([
        { t: 0, prompt_tokens: 50, output_tokens: 3, prefix_id: "sys", prefix_tokens: 20 },
        "",
        { t: 1, prompt_tokens: 70, output_tokens: 2, prefix_id: "#0", prefix_tokens: 50 },
        { t: 2, prompt_tokens: 50, output_tokens: 9, prefix_id: "#0", prefix_tokens: 50 },
        { t: 3, prompt_tokens: 60, output_tokens: 1, prefix_id: "#1", prefix_tokens: 30 },
      ]),
    );
    const [first, continued, repeated, partial] = all;
    // A follow-up turn: the whole first prompt, then 20 words of its own.
    expect(continued!.promptIds.slice(0, 50)).toEqual(first!.promptIds);
    expect(continued!.promptIds[50]).not.toBe(first!.promptIds[0]);
    expect(repeated!.prompt).toBe(first!.prompt);
    expect(repeated!.promptIds).toEqual(first!.promptIds);
    expect(repeated!.prefix).toEqual({ id: "#0", tokens: 50 });
    expect(partial!.promptIds.slice(0, 30)).toEqual(continued!.promptIds.slice(0, 30));
    for (const a of all) expect(tokenizer.encode(a.prompt)).toEqual(a.promptIds);
  });

  it("draws no words for a repeat, so the lines after it get the words they would without it", async () => {
    const line = { t: 0, prompt_tokens: 10, output_tokens: 1 };
    const [a, , b] = await read(
      traceFile([line, { ...line, prefix_id: "#0", prefix_tokens: 10 }, { ...line, prompt_tokens: 12 }]),
    );
    const [a2, b2] = await read(traceFile([line, { ...line, prompt_tokens: 12 }]));
    expect([a!.prompt, b!.prompt]).toEqual([a2!.prompt, b2!.prompt]);
  });

  it("keeps the last REPEAT_POOL_SIZE requests that are not exact repeats, and no others", async () => {
    const line = { t: 0, prompt_tokens: 2, output_tokens: 1 };
    const distinct = Array.from({ length: REPEAT_POOL_SIZE }, () => line);
    // Requests 0..999; 1000 repeats 0 (and is not held itself); 1001 pushes 0 out, and 1 is still held.
    const lines = [...distinct, { ...line, prefix_id: "#0", prefix_tokens: 2 }, line];
    const held = await read(traceFile([...lines, { ...line, prefix_id: "#1", prefix_tokens: 2 }]));
    expect(held.at(-1)!.prompt).toBe(held[1]!.prompt);
    await expect(read(traceFile([...lines, { ...line, prefix_id: "#0", prefix_tokens: 2 }]))).rejects.toThrow(
      /:1003: prefix_id: request 0 is not held \(the replay keeps the last 1000 requests/,
    );
    await expect(
      read(traceFile([...lines, { ...line, prefix_id: "#1000", prefix_tokens: 2 }])),
    ).rejects.toThrow(/:1003: prefix_id: request 1000 is not held/);
  });

  it.each([
    [
      "a malformed #N",
      { prefix_id: "#01", prefix_tokens: 1 },
      /:2: prefix_id: an id starting with # must be #N/,
    ],
    [
      "a #N naming itself",
      { prefix_id: "#1", prefix_tokens: 1 },
      /:2: prefix_id: #N must name an earlier request \(this is request 1\), got "#1"/,
    ],
    [
      "a prefix longer than request N's prompt",
      { prompt_tokens: 5, prefix_id: "#0", prefix_tokens: 3 },
      /:2: prefix_tokens: must be <= request 0's 2 prompt tokens, got 3/,
    ],
  ])("rejects %s, naming the line", async (_, fields, message) => {
    const line = { t: 0, prompt_tokens: 2, output_tokens: 1 };
    await expect(read(traceFile([line, { ...line, ...fields }]))).rejects.toThrow(message);
  });
});
