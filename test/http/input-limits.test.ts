import { describe, expect, it } from "vitest";
import { MAX_MESSAGES } from "../../src/api/requests.js";
import { routingSchema } from "../../src/config/schema.js";
import { appHarness } from "../helpers/app-harness.js";
import { json } from "../helpers/json.js";
import { ScriptedBackend } from "../helpers/scripted-backend.js";

function harness(options: { maxJsonDepth?: number } = {}) {
  return appHarness({
    ...options,
    backends: (clock) => [
      new ScriptedBackend({ clock, model: "test-model", script: { words: ["ok"], ttftMs: 5, itlMs: 1 } }),
    ],
    models: [
      { id: "test-model", ownedBy: "tollgate", contextLength: 1_000_000, routing: routingSchema.parse({}) },
    ],
  });
}

const nest = (levels: number) => `${"[".repeat(levels)}1${"]".repeat(levels)}`;
const user = [{ role: "user", content: "hi" }];
const chat = (extra: string) => `{"model":"test-model","messages":${JSON.stringify(user)},${extra}}`;

describe("input shape limits", () => {
  it.each([
    { field: "tools", body: chat(`"tools":[${nest(5000)}]`), param: "tools[0]" },
    { field: "logit_bias", body: chat(`"logit_bias":{"50256":${nest(5000)}}`), param: "logit_bias" },
    {
      field: "response_format",
      body: chat(`"response_format":{"schema":${nest(10_000)}}`),
      param: "response_format",
    },
    { field: "an unknown field", body: chat(`"x_vendor":${nest(5000)}`), param: "x_vendor[0]" },
    {
      field: "messages[].tool_calls",
      body: `{"model":"test-model","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":${nest(5000)}}]}`,
      param: "messages[1]",
    },
    { field: "the top level", body: nest(10_000), param: null },
  ])("answers nesting past 64 levels in $field with a 400 naming it", async ({ body, param }) => {
    const res = await harness().post("/v1/chat/completions", body);
    expect(res.status).toBe(400);
    const { error } = await json(res);
    expect(error).toMatchObject({ type: "invalid_request_error", code: "invalid_request", param });
    expect(error.message).toContain("more than 64 levels deep");
  });

  it("serves 64 levels, and honours a configured limit on both completion routes", async () => {
    const ok = await harness().post("/v1/chat/completions", chat(`"metadata":${nest(63)}`));
    expect(ok.status).toBe(200);
    const strict = harness({ maxJsonDepth: 3 });
    const deep = await strict.post("/v1/chat/completions", chat(`"tools":[[[1]]]`));
    expect(deep.status).toBe(400);
    const prompt = await strict.post("/v1/completions", `{"model":"test-model","prompt":"hi","x":[[[1]]]}`);
    expect(prompt.status).toBe(400);
    expect((await json(prompt)).error.param).toBe("x[0]");
  });

  it(`refuses more than ${MAX_MESSAGES} messages with OpenAI's wording`, async () => {
    const h = harness();
    const at = await h.post("/v1/chat/completions", {
      model: "test-model",
      messages: Array.from({ length: MAX_MESSAGES }, () => ({ role: "user", content: "x" })),
    });
    expect(at.status).toBe(200);
    const over = await h.post("/v1/chat/completions", {
      model: "test-model",
      messages: Array.from({ length: 10_000 }, () => ({ role: "user" })),
    });
    expect(over.status).toBe(400);
    const { error } = await json(over);
    expect(error.param).toBe("messages");
    expect(error.message).toBe(
      `Invalid value for 'messages': array too long. Expected an array with maximum length ${MAX_MESSAGES}, but got an array with length 10000 instead.`,
    );
  });
});
