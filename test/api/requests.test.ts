import { describe, expect, it } from "vitest";
import {
  chatCompletionRequestSchema,
  chatMessages,
  completionRequestSchema,
  samplingParams,
  validateBody,
} from "../../src/api/requests.js";
import { GatewayError } from "../../src/core/errors.js";

function errorOf(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error("expected a GatewayError");
}

const chat = (body: unknown) => validateBody(chatCompletionRequestSchema, body);

describe("chat request validation", () => {
  it.each([
    {
      name: "missing model",
      body: { messages: [{ role: "user", content: "hi" }] },
      param: "model",
      re: /Missing required parameter: 'model'/,
    },
    { name: "missing messages", body: { model: "m" }, param: "messages", re: /Missing required parameter/ },
    {
      name: "empty messages",
      body: { model: "m", messages: [] },
      param: "messages",
      re: /at least one message/,
    },
    {
      name: "wrong type",
      body: { model: "m", messages: [{ role: "user", content: 5 }] },
      param: "messages[0].content",
      re: /Invalid value/,
    },
    {
      name: "bad role",
      body: { model: "m", messages: [{ role: "wizard", content: "x" }] },
      param: "messages[0].role",
      re: /Invalid value/,
    },
    {
      name: "temperature too high",
      body: { model: "m", messages: [{ role: "user", content: "x" }], temperature: 3 },
      param: "temperature",
      re: /Invalid value/,
    },
    {
      name: "negative max_tokens",
      body: { model: "m", messages: [{ role: "user", content: "x" }], max_tokens: -1 },
      param: "max_tokens",
      re: /Invalid value/,
    },
    {
      name: "too many stops",
      body: { model: "m", messages: [{ role: "user", content: "x" }], stop: ["a", "b", "c", "d", "e"] },
      param: "stop",
      re: /Invalid value/,
    },
  ])("$name is a 400 naming the field", ({ body, param, re }) => {
    const error = errorOf(() => chat(body));
    expect(error.status).toBe(400);
    expect(error.type).toBe("invalid_request_error");
    expect(error.param).toBe(param);
    expect(error.message).toMatch(re);
  });

  it("rejects a body that is not an object", () => {
    for (const body of [null, [], "text", 3]) expect(errorOf(() => chat(body)).status).toBe(400);
  });

  it("accepts fields it does not act on, as OpenAI-compatible servers do", () => {
    const body = chat({
      model: "m",
      messages: [{ role: "user", content: "hi" }],
      presence_penalty: 0.5,
      logit_bias: { "1": 2 },
      response_format: { type: "text" },
    });
    expect(body.model).toBe("m");
  });

  it("flattens text content parts and keeps names", () => {
    const body = chat({
      model: "m",
      messages: [
        { role: "system", content: "be brief" },
        {
          role: "user",
          name: "ann",
          content: [
            { type: "text", text: "Hello " },
            { type: "text", text: "there" },
          ],
        },
        { role: "assistant", content: null, tool_calls: [] },
      ],
    });
    expect(chatMessages(body)).toEqual([
      { role: "system", content: "be brief" },
      { role: "user", content: "Hello there", name: "ann" },
      { role: "assistant", content: "" },
    ]);
  });
});

describe("samplingParams", () => {
  const base = { model: "m", messages: [{ role: "user", content: "x" }] };

  it("applies OpenAI's defaults", () => {
    expect(samplingParams(chat(base))).toEqual({
      model: "m",
      maxTokens: undefined,
      temperature: 1,
      topP: 1,
      stop: [],
      seed: undefined,
      stream: false,
      includeUsage: false,
    });
  });

  it("prefers max_completion_tokens over max_tokens and normalises stop", () => {
    const body = chat({
      ...base,
      max_tokens: 10,
      max_completion_tokens: 20,
      stop: "END",
      stream: true,
      stream_options: { include_usage: true },
    });
    const params = samplingParams(body, body.max_completion_tokens);
    expect(params.maxTokens).toBe(20);
    expect(params.stop).toEqual(["END"]);
    expect(params.includeUsage).toBe(true);
  });

  it("refuses n > 1 with a clear error", () => {
    const error = errorOf(() => samplingParams(chat({ ...base, n: 2 })));
    expect(error.param).toBe("n");
    expect(error.status).toBe(400);
  });
});

describe("completion request validation", () => {
  it("accepts a string or an array of strings", () => {
    expect(validateBody(completionRequestSchema, { model: "m", prompt: "a" }).prompt).toBe("a");
    expect(validateBody(completionRequestSchema, { model: "m", prompt: ["a", "b"] }).prompt).toEqual([
      "a",
      "b",
    ]);
  });

  it("rejects token-id prompts and empty arrays", () => {
    expect(
      errorOf(() => validateBody(completionRequestSchema, { model: "m", prompt: [1, 2] })).param,
    ).toMatch(/^prompt/);
    expect(errorOf(() => validateBody(completionRequestSchema, { model: "m", prompt: [] })).param).toBe(
      "prompt",
    );
  });
});
