import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createCl100kTokenizer } from "../../src/core/tokenizer.js";
import { traceArrivals, writeTrace } from "../../src/simulate/trace.js";
import { type Arrival, arrivals, CHAT_LENGTHS, type WorkloadSpec } from "../../src/simulate/workload.js";
import { traceFiles } from "../helpers/trace-files.js";

const { dir, write: traceFile } = traceFiles("tollgate-trace-");

const read = async (file: string, seed = 1, clients?: number): Promise<Arrival[]> => {
  const all: Arrival[] = [];
  for await (const a of traceArrivals({ file, seed, ...(clients !== undefined && { clients }) })) all.push(a);
  return all;
};

const SPEC: WorkloadSpec = {
  rate: 40,
  durationS: 5,
  model: "qwen",
  ...CHAT_LENGTHS,
  sloClassMix: { interactive: 1, batch: 3 },
  clients: 50,
  temperature: 1,
};

describe("simulate trace", () => {
  it("replays lines as arrivals: times in ms, exact token counts, class and client", async () => {
    const tokenizer = createCl100kTokenizer();
    const all = await read(
      traceFile([
        { t: 0, prompt_tokens: 5, output_tokens: 3 },
        "",
        { t: 0.25, prompt_tokens: 40, output_tokens: 7, class: "batch", client: "alice" },
        { t: 0.25, prompt_tokens: 1, output_tokens: 1, client: "17" },
        { t: 1.5, prompt_tokens: 9, output_tokens: 2, client: "alice" },
      ]),
    );
    expect(all.map((a) => [a.index, a.atMs, a.promptTokens, a.outputTokens, a.sloClass])).toEqual([
      [0, 0, 5, 3, undefined],
      [1, 250, 40, 7, "batch"],
      [2, 250, 1, 1, undefined],
      [3, 1500, 9, 2, undefined],
    ]);
    for (const a of all) {
      expect(tokenizer.encode(a.prompt)).toHaveLength(a.promptTokens);
      expect(a.promptIds).toEqual(tokenizer.encode(a.prompt));
    }
    expect(all[2]!.client).toBe(17);
    expect(all[3]!.client).toBe(all[1]!.client);
    expect(all[1]!.client).not.toBe(17);
  });

  it("spreads lines without a client round-robin over the clients", async () => {
    const line = { t: 1, prompt_tokens: 2, output_tokens: 2 };
    const all = await read(traceFile([line, line, line, line]), 1, 3);
    expect(all.map((a) => a.client)).toEqual([0, 1, 2, 0]);
  });

  it("gives requests with the same prefix_id the same first prefix_tokens tokens", async () => {
    const tokenizer = createCl100kTokenizer();
    const [a, b, c, d] = await read(
      traceFile([
        { t: 0, prompt_tokens: 120, output_tokens: 1, prefix_id: "system-a", prefix_tokens: 100 },
        { t: 1, prompt_tokens: 130, output_tokens: 1, prefix_id: "system-a", prefix_tokens: 100 },
        { t: 2, prompt_tokens: 120, output_tokens: 1, prefix_id: "system-b", prefix_tokens: 100 },
        { t: 3, prompt_tokens: 100, output_tokens: 1, prefix_id: "system-a", prefix_tokens: 100 },
      ]),
    );
    const [ta, tb, tc, td] = [a, b, c, d].map((x) => tokenizer.encode(x!.prompt));
    expect(tb!.slice(0, 100)).toEqual(ta!.slice(0, 100));
    // The unshared remainders differ from their first token (true for this seed), so exactly 100 are shared.
    expect(tb![100]).not.toBe(ta![100]);
    expect(td).toEqual(ta!.slice(0, 100));
    expect(tc!.slice(0, 100)).not.toEqual(ta!.slice(0, 100));
    // The prefix depends on the id alone, not on the seed.
    const [other] = await read(
      traceFile([{ t: 0, prompt_tokens: 100, output_tokens: 1, prefix_id: "system-a", prefix_tokens: 100 }]),
      99,
    );
    expect(other!.prompt).toBe(d!.prompt);
  });

  it("round trip: synthetic -> trace -> arrivals gives the same arrivals", async () => {
    const synthetic = [...arrivals(SPEC, 7)];
    expect(synthetic.length).toBeGreaterThan(100);
    const file = join(dir, "round-trip.jsonl");
    await writeTrace({ arrivals: arrivals(SPEC, 7), file });
    expect(readFileSync(file, "utf8").split("\n")[0]).toMatch(/^\{"t":[\d.e-]+,"prompt_tokens":\d+,/);
    expect(await read(file, 7)).toStrictEqual(synthetic);
  });

  it.each([
    ["not JSON", "{t: 1}", /:2: not JSON/],
    ["a missing field", { t: 1, prompt_tokens: 3 }, /:2: output_tokens: Invalid input/],
    [
      "a fractional token count",
      { t: 1, prompt_tokens: 3.5, output_tokens: 1 },
      /:2: prompt_tokens: .*got 3\.5/,
    ],
    ["a negative time", { t: -1, prompt_tokens: 3, output_tokens: 1 }, /:2: t: .*got -1/],
    ["a string time", { t: "1", prompt_tokens: 3, output_tokens: 1 }, /:2: t: .*got "1"/],
    [
      "an unknown field",
      { t: 1, prompt_tokens: 3, output_tokens: 1, promt: 2 },
      /:2: unknown field\(s\) promt/,
    ],
    [
      "a prefix id alone",
      { t: 1, prompt_tokens: 3, output_tokens: 1, prefix_id: "a" },
      /:2: prefix_tokens: prefix_id and prefix_tokens go together/,
    ],
    [
      "a prefix longer than the prompt",
      { t: 1, prompt_tokens: 3, output_tokens: 1, prefix_id: "a", prefix_tokens: 4 },
      /:2: prefix_tokens: must be <= prompt_tokens, got 4/,
    ],
    ["an empty class", { t: 1, prompt_tokens: 3, output_tokens: 1, class: "" }, /:2: class: /],
    [
      "a time going backwards",
      { t: 0.5, prompt_tokens: 3, output_tokens: 1 },
      /:2: t must be >= the previous line's t \(1\), got 0\.5/,
    ],
  ])("rejects %s, naming the line and field", async (_, bad, message) => {
    const file = traceFile([
      { t: 1, prompt_tokens: 2, output_tokens: 2 },
      bad,
      { t: 9, prompt_tokens: 2, output_tokens: 2 },
    ]);
    const seen: number[] = [];
    const run = async () => {
      for await (const a of traceArrivals({ file, seed: 1 })) seen.push(a.index);
    };
    await expect(run()).rejects.toThrow(message);
    expect(seen).toEqual([0]);
  });

  it("fails on a missing file", async () => {
    await expect(read(join(dir, "absent.jsonl"))).rejects.toThrow(/ENOENT/);
  });
});
