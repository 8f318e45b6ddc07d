#!/usr/bin/env node
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { compose } from "./compose.js";
import { ConfigError, loadConfig } from "./config/load.js";
import { SystemClock } from "./core/clock.js";
import { startServer } from "./http/server.js";

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const DEFAULT_CONFIG = resolve(PACKAGE_ROOT, "config/default.yaml");

const USAGE = `Usage: tollgate [serve] [options]

Commands:
  serve             Run the OpenAI-compatible gateway (default).

Options:
  --config FILE     YAML configuration (default: config/default.yaml, the embedded
                    default: in-process simulated GPU backends, in-memory stores).
  --port N          Port to listen on (overrides server.port and $PORT; 0 picks a free port).
  --host ADDR       Address to bind (overrides server.host and $HOST).
  -h, --help        Show this help.

Environment:
  PORT, HOST        Override server.port / server.host from the config file.

Exit codes: 0 clean shutdown, 1 runtime failure, 2 bad command line or configuration.`;

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseCli>;
  try {
    parsed = parseCli(argv);
  } catch (error) {
    process.stderr.write(`tollgate: ${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const command = parsed.positionals[0] ?? "serve";
  if (command !== "serve") {
    process.stderr.write(`tollgate: unknown command "${command}"\n\n${USAGE}\n`);
    return 2;
  }
  const port = parsed.values.port === undefined ? undefined : Number(parsed.values.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    process.stderr.write(
      `tollgate: --port must be an integer from 0 to 65535, got "${parsed.values.port}"\n`,
    );
    return 2;
  }
  return serveCommand({ configFile: parsed.values.config ?? DEFAULT_CONFIG, port, host: parsed.values.host });
}

function parseCli(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

async function serveCommand(options: {
  configFile: string;
  port: number | undefined;
  host: string | undefined;
}) {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({
      file: options.configFile,
      env: process.env,
      overrides: {
        ...(options.port !== undefined && { port: options.port }),
        ...(options.host !== undefined && { host: options.host }),
      },
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`tollgate: invalid configuration in ${options.configFile}\n`);
    for (const problem of error.problems) process.stderr.write(`  ${problem}\n`);
    return 2;
  }
  // Asynchronous stdout (sonic-boom): a log line never blocks the event loop; flushed at shutdown.
  const logger = pino(
    { level: config.log.level, base: { service: "tollgate" } },
    pino.destination({ dest: 1, sync: false, minLength: 0 }),
  );
  let draining = false;
  let composed: ReturnType<typeof compose>;
  try {
    composed = compose({ config, clock: new SystemClock(), logger, isDraining: () => draining });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`tollgate: invalid configuration in ${options.configFile}\n`);
    for (const problem of error.problems) process.stderr.write(`  ${problem}\n`);
    return 2;
  }
  const { gateway, app } = composed;
  const server = await startServer(app, { port: config.server.port, host: config.server.host });
  logger.info(
    {
      port: server.port,
      host: config.server.host,
      models: gateway.listModels().map((m) => m.id),
      config: options.configFile,
    },
    `tollgate listening on http://${config.server.host}:${server.port}`,
  );

  return new Promise<number>((resolveExit) => {
    const shutdown = async (signal: string) => {
      if (draining) return;
      draining = true;
      logger.info(
        { signal, graceMs: config.server.shutdownGraceMs },
        "shutting down: draining in-flight requests",
      );
      await server.close(config.server.shutdownGraceMs);
      await gateway.close();
      logger.info("stopped");
      logger.flush();
      resolveExit(0);
    };
    process.once("SIGTERM", () => void shutdown("SIGTERM"));
    process.once("SIGINT", () => void shutdown("SIGINT"));
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `tollgate: fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
