import { describe, expect, it } from "vitest";
import { CompletionBodyReader } from "../../bench/lib/completion-body.js";

function chunk(delta: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return `data: ${JSON.stringify({ object: "chat.completion.chunk", choices: [{ index: 0, delta }], ...extra })}\n\n`;
}

const USAGE = `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 3 } })}\n\n`;

/** Feeds `text` in pieces of `size` characters, so events and lines straddle chunk boundaries. */
function feed(reader: CompletionBodyReader, text: string, size: number): void {
  for (let i = 0; i < text.length; i += size) reader.push(text.slice(i, i + size));
}

describe("CompletionBodyReader", () => {
  it("reads completion_tokens from a JSON body", () => {
    const reader = new CompletionBodyReader({ stream: false });
    feed(reader, JSON.stringify({ choices: [], usage: { completion_tokens: 42 } }), 7);
    expect(reader.finish(true)).toEqual({ completionTokens: 42 });
  });

  it("flags a 2xx body that is not JSON, but not an error status's body", () => {
    const bad = new CompletionBodyReader({ stream: false });
    bad.push("<html>");
    expect(bad.finish(true)).toEqual({ completionTokens: 0, error: "response body is not JSON" });
    const rejected = new CompletionBodyReader({ stream: false });
    rejected.push("<html>");
    expect(rejected.finish(false)).toEqual({ completionTokens: 0 });
  });

  it.each([1, 3, 1000])("reads a stream's usage chunk, fed %i characters at a time", (size) => {
    let firstContent = 0;
    const reader = new CompletionBodyReader({ stream: true, onFirstContent: () => firstContent++ });
    const body =
      ": keep-alive\n\n" +
      chunk({ role: "assistant", content: "" }) +
      chunk({ content: "Hi" }) +
      chunk({ content: " there" }).replaceAll("\n", "\r\n") +
      chunk({}, { choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }) +
      USAGE +
      "data: [DONE]\n\n";
    feed(reader, body, size);
    expect(reader.finish(true)).toEqual({ completionTokens: 3 });
    expect(firstContent).toBe(1);
  });

  it("fires onFirstContent on the first chunk with text, not the role chunk", () => {
    const events: string[] = [];
    const reader = new CompletionBodyReader({ stream: true, onFirstContent: () => events.push("first") });
    reader.push(chunk({ role: "assistant", content: "" }));
    expect(events).toEqual([]);
    reader.push(chunk({ content: "x" }));
    expect(events).toEqual(["first"]);
  });

  it("counts content chunks when the stream has no usage, including legacy completions' text", () => {
    const reader = new CompletionBodyReader({ stream: true });
    reader.push(chunk({ content: "a" }) + chunk({ content: "b" }));
    reader.push(`data: ${JSON.stringify({ choices: [{ index: 0, text: "c" }] })}\n\ndata: [DONE]\n\n`);
    expect(reader.finish(true)).toEqual({ completionTokens: 3 });
  });

  it("joins multi-line data fields and accepts a body without a final blank line", () => {
    const reader = new CompletionBodyReader({ stream: true });
    reader.push('data: {"choices":[{"index":0,\ndata: "delta":{"content":"a"}}]}\n\ndata: [DONE]');
    expect(reader.finish(true)).toEqual({ completionTokens: 1 });
  });

  it("flags a stream cut before [DONE] or carrying an error event", () => {
    const cut = new CompletionBodyReader({ stream: true });
    cut.push(chunk({ content: "a" }));
    expect(cut.finish(true)).toEqual({ completionTokens: 1, error: "stream ended before data: [DONE]" });
    const failed = new CompletionBodyReader({ stream: true });
    failed.push(`data: {"error":{"message":"overloaded"}}\n\ndata: [DONE]\n\n`);
    expect(failed.finish(true)).toEqual({ completionTokens: 0, error: "stream carried an error event" });
  });
});
