import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { CONFIG_DOC_COMMAND, CONFIG_DOC_PATH, renderConfigDoc } from "../../src/config/doc.js";
import { walkConfigSchema } from "../../src/config/doc-walk.js";

describe("the configuration doc", () => {
  it("is what the schema generates (regenerate with npm run docs:config)", () => {
    const committed = readFileSync(CONFIG_DOC_PATH, "utf8");
    expect(committed, `${CONFIG_DOC_PATH} is out of date: run \`${CONFIG_DOC_COMMAND}\` and commit it`).toBe(
      renderConfigDoc(),
    );
  });

  it("documents every key with its type, default and meaning", () => {
    const model = walkConfigSchema(
      z.object({
        server: z
          .object({
            port: z.number().int().min(0).max(65535).default(8080).describe("Listen port."),
            key: z.string().min(16).optional().meta({ description: "A key.", whenUnset: "no key" }),
            ratio: z.number().gt(0).max(1).describe("A share."),
          })
          .meta({ title: "Server", description: "The listener." }),
        seed: z.number().int().default(42).describe("Seed."),
      }),
    );
    expect(model.sections.map((s) => [s.title, s.path])).toEqual([
      ["Server", "server"],
      ["General", ""],
    ]);
    expect(model.sections[0]!.rows).toEqual([
      { key: "server.port", type: "integer 0-65535", default: "`8080`", meaning: "Listen port." },
      { key: "server.key", type: "string of at least 16 characters", default: "no key", meaning: "A key." },
      { key: "server.ratio", type: "number > 0, <= 1", default: "required", meaning: "A share." },
    ]);
  });

  it("refuses a key without a description, naming it", () => {
    const schema = z.object({
      server: z
        .object({ port: z.number(), host: z.string().describe("Bind address.") })
        .meta({ title: "Server" }),
    });
    expect(() => walkConfigSchema(schema)).toThrow("config keys without a description: server, server.port");
  });
});
