import { type DocSection, walkConfigSchema } from "./doc-walk.js";
import { configSchema } from "./schema.js";

/**
 * docs/configuration.md, generated from the zod schema: `npm run docs:config` writes it, and a test compares the
 * committed file with a fresh rendering, so the doc cannot drift from the code.
 */

export const CONFIG_DOC_PATH = "docs/configuration.md";
export const CONFIG_DOC_COMMAND = "npm run docs:config";

const HEADER = `# Configuration reference

<!-- Generated from the zod schema in src/config/sections/ by \`${CONFIG_DOC_COMMAND}\`: do not edit by hand. -->

This file is generated from the zod schema (\`src/config/schema.ts\`, composed of one schema per section in
\`src/config/sections/\`): each key's meaning is its \`.describe()\` text in the code. To change it, edit the
description next to the key and run \`${CONFIG_DOC_COMMAND}\`; \`npm test\` fails while this file is out of date.

Tollgate reads one YAML file (\`--config FILE\`, default \`config/default.yaml\`). Every key has a default unless
marked *required*, so a file only says what differs. Unknown keys are errors (a typo is not silently ignored);
a bad file stops start-up with one line per bad field, every bad field at once, and exit code 2:

\`\`\`
tollgate: invalid configuration in bad.yaml
  server.port: Too small: expected number to be >=0
  deployments.0.backend.hardware: unknown hardware "TPU-v9" (known: H100-SXM-80GB, ...)
\`\`\`

Besides each key's own rules, references across sections are checked: model ids and deployment names are
unique; each deployment serves a declared model and each model is served by a deployment; hardware and model
profiles exist in the catalogs (built-in or \`catalog\`); aliases clash with no id or alias; canary, shadow,
fallback and \`degradeTo\` targets exist and are not the model itself; SLO class names (\`defaultClass\`, tenants',
anonymous, \`bypassClasses\`) exist; API keys name an existing tenant and are not listed twice; trusted proxies
are IP addresses or CIDR ranges; \`server.headersTimeoutMs\` is at most \`server.requestTimeoutMs\`;
\`admin.requireKey: true\` comes with \`admin.key\`.

**Environment.** \`PORT\` and \`HOST\` override \`server.port\` and \`server.host\`; \`--port\` and \`--host\`
override both. \`REDIS_URL\` overrides \`store.url\`. Secrets (\`admin.key\`, \`guard.secret\`,
\`deployments[].backend.apiKey\`) may be written \`\${ENV_NAME}\`: the value is read from the environment at
start-up, and an unset variable is an error.

**Key paths.** \`models[].id\` is the \`id\` of each entry of the \`models\` list; \`guard.tenants.<name>.tier\`
is the \`tier\` of each entry of the \`guard.tenants\` map.
`;

export function renderConfigDoc(): string {
  const model = walkConfigSchema(configSchema);
  const anchors = anchorsOf(model.sections);
  for (const link of model.links) {
    const target = model.sections.find((s) => s.path === link.path);
    if (target === undefined) throw new Error(`${link.row.key}: no section documents "${link.path}"`);
    const see = `See [${target.title}](#${anchors.get(target)}).`;
    link.row.meaning = link.row.meaning === "" ? see : `${link.row.meaning} ${see}`;
  }
  const contents = model.sections.map(
    (s) => `${s.level === 3 ? "  " : ""}- [${heading(s)}](#${anchors.get(s)})`,
  );
  const body = model.sections.map((s) => renderSection(s));
  return [HEADER, "## Contents\n", contents.join("\n"), "", ...body].join("\n");
}

function heading(section: DocSection): string {
  return section.path === "" ? section.title : `${section.title} (\`${section.path}\`)`;
}

function renderSection(section: DocSection): string {
  const lines = [`${"#".repeat(section.level)} ${heading(section)}`, "", section.description, ""];
  lines.push("| Key | Type | Default | Meaning |", "|---|---|---|---|");
  for (const row of section.rows) {
    const cells = [`\`${row.key}\``, row.type, row.default, row.meaning].map(cell);
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return `${lines.join("\n")}\n`;
}

const cell = (value: string): string => value.replaceAll("|", "\\|").replaceAll("\n", " ");

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes, repeats numbered. */
function anchorsOf(sections: readonly DocSection[]): Map<DocSection, string> {
  const seen = new Map<string, number>();
  const anchors = new Map<DocSection, string>();
  for (const section of sections) {
    const slug = heading(section)
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, "")
      .replaceAll(" ", "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.set(section, count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}
