import type { Hono } from "hono";
import {
  answerVariant,
  chatCompletionRequestSchema,
  chatMessages,
  samplingParams,
  validateBody,
} from "../../api/requests.js";
import { chatChunk, chatCompletion, type ResponseMeta, usageChunk } from "../../api/responses.js";
import { parseCacheControl } from "../../cache/cache-control.js";
import { readJson } from "../body.js";
import type { AppEnv, RouteDeps } from "../env.js";
import { cacheHeaders, collect, servedHeaders, sloHeaders, streamResponse } from "../generation-response.js";
import { clientAbort, requestHeader } from "../node-io.js";
import { admitPrompt, classify, onGenerationDone } from "../request-context.js";

export function chatRoutes(
  app: Hono<AppEnv>,
  { gateway, pipeline, clock, bodyLimitBytes, maxJsonDepth, exposeRoutingHeaders }: RouteDeps,
): void {
  app.post("/v1/chat/completions", async (c) => {
    c.set("endpoint", "chat_completions");
    const body = validateBody(chatCompletionRequestSchema, await readJson(c, bodyLimitBytes, maxJsonDepth));
    const sampling = samplingParams(body, body.max_completion_tokens);
    const requestId = c.get("requestId");
    const { slo, tenant, tier } = classify(c, pipeline);
    const request = await gateway.prepare({
      kind: "chat",
      requestId,
      model: sampling.model,
      messages: chatMessages(body),
      sampling,
      variant: answerVariant(body),
      sloClass: slo.name,
      tenant,
      tier,
    });
    await admitPrompt(c, request.promptTokens.length);
    c.set("prompt", request.promptText);
    c.set("model", request.model);
    const abort = clientAbort(c);
    const meta: ResponseMeta = {
      id: `chatcmpl-${requestId}`,
      created: Math.floor(clock.epochMs() / 1000),
      model: request.model,
    };
    const opened = await pipeline.open(request, {
      signal: abort.signal,
      directives: parseCacheControl(requestHeader(c, "cache-control"), requestHeader(c, "pragma")),
      onDone: onGenerationDone(c, slo, tier),
    });
    const generation = opened.events;
    const headers = cacheHeaders([opened]);

    if (sampling.stream) {
      const options = { includeUsage: sampling.includeUsage };
      return streamResponse(c, {
        generations: [generation],
        includeUsage: sampling.includeUsage,
        abort,
        exposeRoutingHeaders,
        headers,
        onServed: (servedBy) => {
          if (servedBy !== undefined) meta.model = servedBy.model;
        },
        format: {
          opening: () => [chatChunk(meta, { role: "assistant", content: "" }, null, options)],
          delta: (_i, text) => chatChunk(meta, { content: text }, null, options),
          finish: (_i, reason) => chatChunk(meta, {}, reason, options),
          usage: (usage) => usageChunk(meta, "chat.completion.chunk", usage),
        },
      });
    }
    const collected = await collect([generation]);
    const choice = collected.choices[0]!;
    meta.model = choice.done.servedBy.model;
    return c.json(chatCompletion(meta, choice.text, choice.finishReason, collected.usage), 200, {
      ...servedHeaders(collected, exposeRoutingHeaders),
      ...headers,
      ...sloHeaders(collected),
    });
  });
}
