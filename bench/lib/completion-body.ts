/** What a load generator needs from a completion response body. */
export interface CompletionBodyResult {
  /** `usage.completion_tokens` when present; for streams without usage, the number of content chunks. */
  completionTokens: number;
  /** Set when a successful response's body was unusable (bad JSON, a stream cut before `[DONE]`). */
  error?: string;
}

/**
 * Reads an OpenAI chat (or legacy) completion body as it arrives: a JSON object, or a server-sent event stream
 * (WHATWG HTML, "Server-sent events": `data:` lines, events ended by a blank line, `data: [DONE]` last, as OpenAI
 * and vLLM send). Only the fields needed for token counts and time-to-first-token are looked at. Lines may end in
 * `\n` or `\r\n`; a lone `\r` (legal in SSE, sent by no OpenAI-compatible server we know of) is not handled.
 */
export class CompletionBodyReader {
  readonly #stream: boolean;
  readonly #onFirstContent: (() => void) | undefined;
  #text = "";
  #pendingData: string[] = [];
  #contentChunks = 0;
  #usageTokens: number | undefined;
  #sawDone = false;
  #error: string | undefined;

  /** `onFirstContent` fires once, on the first stream event that carries generated text. */
  constructor(options: { stream: boolean; onFirstContent?: () => void }) {
    this.#stream = options.stream;
    this.#onFirstContent = options.onFirstContent;
  }

  push(chunk: string): void {
    this.#text += chunk;
    if (!this.#stream) return;
    // Consume whole lines; keep a trailing partial line for the next chunk.
    let start = 0;
    for (;;) {
      const end = this.#text.indexOf("\n", start);
      if (end === -1) break;
      const line = this.#text.slice(start, this.#text[end - 1] === "\r" ? end - 1 : end);
      start = end + 1;
      this.#line(line);
    }
    this.#text = this.#text.slice(start);
  }

  /** Call once the body has ended. `ok` says whether the status was 2xx: only those bodies must be well formed. */
  finish(ok: boolean): CompletionBodyResult {
    if (!this.#stream) return this.#finishJson(ok);
    if (this.#text.length > 0) this.#line(this.#text);
    this.#line("");
    const result: CompletionBodyResult = { completionTokens: this.#usageTokens ?? this.#contentChunks };
    const error = this.#error ?? (ok && !this.#sawDone ? "stream ended before data: [DONE]" : undefined);
    if (ok && error !== undefined) result.error = error;
    return result;
  }

  #finishJson(ok: boolean): CompletionBodyResult {
    if (!ok) return { completionTokens: 0 };
    let parsed: unknown;
    try {
      parsed = JSON.parse(this.#text);
    } catch {
      return { completionTokens: 0, error: "response body is not JSON" };
    }
    return { completionTokens: completionTokensOf(parsed) ?? 0 };
  }

  #line(line: string): void {
    if (line === "") {
      if (this.#pendingData.length > 0) this.#event(this.#pendingData.join("\n"));
      this.#pendingData = [];
      return;
    }
    if (!line.startsWith("data:")) return; // comments (": ping"), event:, id:, retry: carry nothing we need
    this.#pendingData.push(line.slice(line.startsWith("data: ") ? 6 : 5));
  }

  #event(data: string): void {
    if (data === "[DONE]") {
      this.#sawDone = true;
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      this.#error ??= "stream event is not JSON";
      return;
    }
    if (!isRecord(parsed)) return;
    if (parsed["error"] !== undefined) this.#error ??= "stream carried an error event";
    const usage = completionTokensOf(parsed);
    if (usage !== undefined) this.#usageTokens = usage;
    if (carriesContent(parsed)) {
      this.#contentChunks++;
      if (this.#contentChunks === 1) this.#onFirstContent?.();
    }
  }
}

/** `usage.completion_tokens` of a parsed body or chunk, if it is a number. */
export function completionTokensOf(value: unknown): number | undefined {
  if (!isRecord(value) || !isRecord(value["usage"])) return undefined;
  const tokens = value["usage"]["completion_tokens"];
  return typeof tokens === "number" ? tokens : undefined;
}

/** Whether a chunk's first choice carries text: `delta.content` (chat) or `text` (legacy completions). */
function carriesContent(chunk: Record<string, unknown>): boolean {
  const choices = chunk["choices"];
  if (!Array.isArray(choices)) return false;
  const first: unknown = choices[0];
  if (!isRecord(first)) return false;
  const delta = first["delta"];
  const text = isRecord(delta) ? delta["content"] : first["text"];
  return typeof text === "string" && text.length > 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
