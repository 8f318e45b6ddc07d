import { describe, expect, it } from "vitest";
import { answerVariant } from "../../src/api/requests.js";
import { parseCacheControl } from "../../src/cache/cache-control.js";
import { exactKey, isDeterministic, semanticParts } from "../../src/cache/key.js";
import type { GenerationRequest } from "../../src/core/types.js";

function chat(overrides: Partial<GenerationRequest> = {}): GenerationRequest {
  return {
    id: "req_1",
    model: "m",
    kind: "chat",
    messages: [
      { role: "system", content: "You are terse." },
      { role: "user", content: "What is a GPU?" },
    ],
    promptText: "rendered prompt",
    promptTokens: [1, 2, 3],
    maxTokens: 64,
    stop: [],
    temperature: 0,
    topP: 1,
    arrivalMs: 0,
    ...overrides,
  };
}

describe("exactKey", () => {
  it("ignores the request id and arrival time, which never change the answer", () => {
    expect(exactKey(chat({ id: "a", arrivalMs: 1 }))).toBe(exactKey(chat({ id: "b", arrivalMs: 99 })));
    expect(exactKey(chat())).toMatch(/^[0-9a-f]{64}$/);
  });

  it("changes with everything that can change the answer", () => {
    const base = exactKey(chat());
    const variants: Partial<GenerationRequest>[] = [
      { model: "other" },
      { kind: "completion" },
      { messages: [{ role: "user", content: "What is a GPU?" }] },
      {
        messages: [
          { role: "system", content: "You are terse." },
          { role: "user", content: "What is a TPU?" },
        ],
      },
      {
        messages: [
          { role: "system", content: "You are terse." },
          { role: "user", content: "What is a GPU?", name: "alice" },
        ],
      },
      { maxTokens: 65 },
      { stop: ["\n"] },
      { temperature: 0.5 },
      { topP: 0.9 },
      { seed: 7 },
      { variant: '{"tools":[]}' },
    ];
    const keys = variants.map((v) => exactKey(chat(v)));
    for (const key of keys) expect(key).not.toBe(base);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("keys completions by their prompt text", () => {
    const completion = (promptText: string) => chat({ kind: "completion", messages: undefined, promptText });
    expect(exactKey(completion("a"))).toBe(exactKey(completion("a")));
    expect(exactKey(completion("a"))).not.toBe(exactKey(completion("b")));
  });
});

describe("isDeterministic", () => {
  it("is true for greedy decoding or a fixed seed, false otherwise", () => {
    expect(isDeterministic({ temperature: 0, seed: undefined })).toBe(true);
    expect(isDeterministic({ temperature: 1, seed: 3 })).toBe(true);
    expect(isDeterministic({ temperature: 0.2, seed: undefined })).toBe(false);
  });
});

describe("semanticParts", () => {
  it("embeds only the last message; the earlier conversation must match exactly", () => {
    const a = semanticParts(chat());
    expect(a.text).toBe("What is a GPU?");
    const paraphrase = semanticParts(
      chat({
        messages: [
          { role: "system", content: "You are terse." },
          { role: "user", content: "what's a GPU" },
        ],
      }),
    );
    expect(paraphrase.namespace).toBe(a.namespace);
    const otherSystem = semanticParts(
      chat({
        messages: [
          { role: "system", content: "You are verbose." },
          { role: "user", content: "What is a GPU?" },
        ],
      }),
    );
    expect(otherSystem.namespace).not.toBe(a.namespace);
    expect(semanticParts(chat({ temperature: 0.1 })).namespace).not.toBe(a.namespace);
  });

  it("embeds a completion's whole prompt", () => {
    const parts = semanticParts(chat({ kind: "completion", messages: undefined, promptText: "Once upon" }));
    expect(parts.text).toBe("Once upon");
  });
});

describe("answerVariant", () => {
  it("is undefined when the body holds only normalised fields and delivery options", () => {
    expect(
      answerVariant({
        model: "m",
        messages: [{ role: "user", content: "hi" }],
        temperature: 0,
        stream: true,
        stream_options: { include_usage: true },
        user: "alice",
        metadata: { team: "x" },
      }),
    ).toBeUndefined();
  });

  it("captures tools, response_format and message fields, canonically ordered", () => {
    const a = answerVariant({
      model: "m",
      tools: [{ type: "function", function: { name: "f", parameters: { b: 1, a: 2 } } }],
      response_format: { type: "json_object" },
    });
    const b = answerVariant({
      response_format: { type: "json_object" },
      tools: [{ function: { parameters: { a: 2, b: 1 }, name: "f" }, type: "function" }],
      model: "other",
    });
    expect(a).toBeDefined();
    expect(a).toBe(b);
    const withToolCall = answerVariant({
      messages: [
        { role: "assistant", content: null, tool_calls: [{ id: "c1" }] },
        { role: "tool", content: "4", tool_call_id: "c1" },
      ],
    });
    expect(withToolCall).toContain("tool_call_id");
  });
});

describe("parseCacheControl", () => {
  it("reads no-cache, no-store and max-age=0, case-insensitively, ignoring unknown directives", () => {
    expect(parseCacheControl(undefined)).toEqual({ noCache: false, noStore: false });
    expect(parseCacheControl("No-Cache")).toEqual({ noCache: true, noStore: false });
    expect(parseCacheControl("private, no-store")).toEqual({ noCache: false, noStore: true });
    expect(parseCacheControl("max-age=0")).toEqual({ noCache: true, noStore: false });
    expect(parseCacheControl("max-age=60, foo=bar")).toEqual({ noCache: false, noStore: false });
  });

  it("honours Pragma: no-cache only without Cache-Control", () => {
    expect(parseCacheControl(undefined, "no-cache").noCache).toBe(true);
    expect(parseCacheControl("max-age=60", "no-cache").noCache).toBe(false);
  });
});
