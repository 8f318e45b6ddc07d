// Writes docs/configuration.md from the config's zod schema (src/config/doc.ts, run compiled from dist/ so no
// TypeScript loader is needed). `npm run docs:config` builds first when dist/ is stale; test/config/doc.test.ts
// fails while the committed file differs from what this writes.
import { writeFileSync } from "node:fs";

const { CONFIG_DOC_PATH, renderConfigDoc } = await import("../dist/config/doc.js");
const target = new URL(`../${CONFIG_DOC_PATH}`, import.meta.url);
writeFileSync(target, renderConfigDoc());
process.stdout.write(`wrote ${CONFIG_DOC_PATH}\n`);
