/** Server-sent events framing for OpenAI streams: one `data:` line per JSON chunk, then `data: [DONE]`. */

export function sseData(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

export const SSE_DONE = "data: [DONE]\n\n";
