import { z } from "zod";

export const logSchema = z
  .object({
    level: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      .default("info")
      .describe("pino level: one info line per completion, 5xx at error, shed requests at debug."),
    prompts: z
      .boolean()
      .default(false)
      .describe("Put the prompt text in each completion's log line (off: prompts are user data)."),
  })
  .strict()
  .meta({ title: "Logging", description: "Structured JSON logs (pino) on stdout." });
