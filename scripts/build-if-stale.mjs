// Runs `tsc -p tsconfig.build.json` when dist/ is missing or older than any file in src/, so `npm start`
// always runs fresh compiled JavaScript without a TypeScript loader on the hot path.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((max, entry) => {
    const path = join(dir, entry.name);
    return Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }, 0);

const entry = "dist/main.js";
if (!existsSync(entry) || newest("src") > statSync(entry).mtimeMs) {
  process.stderr.write("tollgate: building (tsc)...\n");
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], {
    stdio: "inherit",
  });
}
