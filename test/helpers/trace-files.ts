import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/**
 * A temporary directory for one test file's JSONL traces, removed after its tests, and a writer of numbered
 * trace files in it (objects are written as JSON, strings as they are, so a test can write a bad line).
 */
export function traceFiles(prefix: string): {
  dir: string;
  write: (lines: ReadonlyArray<string | object>) => string;
} {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let files = 0;
  return {
    dir,
    write: (lines) => {
      const file = join(dir, `t${files++}.jsonl`);
      const text = lines.map((line) => (typeof line === "string" ? line : JSON.stringify(line))).join("\n");
      writeFileSync(file, `${text}\n`);
      return file;
    },
  };
}
