/**
 * An incremental server-sent events parser (WHATWG HTML, "Parsing an event stream"), for upstream streams whose
 * network chunks split lines, CRLF pairs and multi-byte characters anywhere. Only what OpenAI-compatible servers
 * use is kept: the `event` name and the `data` lines; `id` and `retry` are ignored, as are comment lines
 * (`: keep-alive`), which vLLM and proxies send to keep idle connections open.
 */
export interface SseEvent {
  /** The `event:` field, `message` when absent. */
  event: string;
  /** The `data:` lines joined with `\n`. */
  data: string;
}

export class SseParser {
  readonly #decoder = new TextDecoder("utf-8");
  /** Text of the line not yet terminated. */
  #line = "";
  /** The previous chunk ended with CR: a LF opening the next chunk belongs to the same line break. */
  #afterCr = false;
  #event = "";
  #data: string[] = [];

  /** Feeds raw bytes; returns the events completed by them, in order. */
  push(chunk: Uint8Array): SseEvent[] {
    return this.#feed(this.#decoder.decode(chunk, { stream: true }));
  }

  /** Ends the stream: an event without its closing blank line is discarded, as the spec says. */
  end(): SseEvent[] {
    const events = this.#feed(this.#decoder.decode());
    this.#line = "";
    this.#event = "";
    this.#data = [];
    return events;
  }

  #feed(text: string): SseEvent[] {
    const events: SseEvent[] = [];
    let start = 0;
    if (this.#afterCr && text.startsWith("\n")) start = 1;
    this.#afterCr = false;
    for (let i = start; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.#line += text.slice(start, i);
      this.#takeLine(events);
      if (c === 13) {
        if (i + 1 === text.length) this.#afterCr = true;
        else if (text.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    this.#line += text.slice(start);
    return events;
  }

  #takeLine(events: SseEvent[]): void {
    const line = this.#line;
    this.#line = "";
    if (line === "") {
      // A blank line dispatches; an event with no data (or only empty data) is dropped, per the spec.
      const data = this.#data.join("\n");
      if (data !== "") events.push({ event: this.#event || "message", data });
      this.#event = "";
      this.#data = [];
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.#data.push(value);
    else if (field === "event") this.#event = value;
  }
}
