#!/usr/bin/env node
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type Logger, pino } from "pino";
import { type Composed, compose } from "./compose.js";
import { ConfigError, loadConfig } from "./config/load.js";
import type { Config } from "./config/schema.js";
import { SystemClock } from "./core/clock.js";
import { startServer } from "./http/server.js";
import { BACKEND_DEFAULT_PORT, parseBackendCommand } from "./replica-server/command.js";
import { composeReplicaServer } from "./replica-server/compose-replica-server.js";
import { SIMULATE_USAGE, simulateCommand } from "./simulate/command.js";
import { PLAN_USAGE, planCommand } from "./simulate/plan-command.js";

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const DEFAULT_CONFIG = resolve(PACKAGE_ROOT, "config/default.yaml");

const USAGE = `Usage: tollgate [serve] [options]
       tollgate backend --profile MODEL --gpu HARDWARE [options]
       tollgate backend --config FILE [options]
       tollgate simulate --rate R --duration D [options]
       tollgate plan --model PROFILE --rate R --slo SPEC [options]

Commands:
  serve             Run the OpenAI-compatible gateway (default).
  backend           Run ONE simulated replica as its own OpenAI-compatible server with
                    vLLM's metric names on /metrics (vllm:*), to simulate a fleet over
                    real HTTP: point a gateway's openai-http deployments at it.
  simulate          Run a synthetic workload through the pipeline on a virtual clock,
                    no HTTP, as fast as the CPU allows; print a summary (JSON: --out).
  plan              Find the fewest replicas per GPU, TP and precision that meet p99
                    TTFT/TPOT targets at a load (simulated); rank them by spend.

Options (serve):
  --config FILE     YAML configuration (default: config/default.yaml, the embedded
                    default: in-process simulated GPU backends, in-memory stores).
  --port N          Port to listen on (overrides server.port and $PORT; 0 picks a free port).
  --host ADDR       Address to bind (overrides server.host and $HOST).
  -h, --help        Show this help.

Options (backend; the command word comes first):
  --profile MODEL   Model profile from the catalog (Llama-3.1-8B, Llama-3.1-70B,
                    Mistral-7B-v0.1, Llama-2-7B, Llama-2-70B, Qwen2.5-0.5B).
  --gpu HARDWARE    Hardware from the catalog (H100-SXM-80GB, H100-PCIe-80GB,
                    H200-SXM-141GB, A100-80GB, A100-40GB, L4, A10, MI300X).
  --tp N            Tensor-parallel degree: GPUs in the replica (default 1).
  --precision P     Weight precision: bf16 (default), fp8 or int4.
  --model-id ID     Model id served (default: the profile name in lower case).
  --latency MODE    roofline (default) or zero (steps take no time).
  --seed N          Seed of output lengths and text (default 42).
  --config FILE     Serve FILE's first simulated deployment (one replica) instead of
                    --profile/--gpu/--tp/--precision/--model-id/--latency.
  --port N          Port to listen on (default ${BACKEND_DEFAULT_PORT}, vLLM's; 0 picks a free port).
  --host ADDR       Address to bind (default 127.0.0.1).

${SIMULATE_USAGE}

${PLAN_USAGE}

Environment:
  PORT, HOST        Override server.port / server.host (flags win).

Exit codes: 0 clean shutdown, 1 runtime failure, 2 bad command line or configuration.`;

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "backend") return backendCommand(argv.slice(1));
  if (argv[0] === "simulate")
    return simulateCommand(argv.slice(1), { defaultConfig: DEFAULT_CONFIG, env: process.env });
  if (argv[0] === "plan") return planCommand(argv.slice(1));
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
  if (command === "backend") {
    process.stderr.write(`tollgate: put the command first: tollgate backend [options]\n\n${USAGE}\n`);
    return 2;
  }
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
  const logger = createLogger(config);
  const state = { draining: false };
  let composed: Composed;
  try {
    composed = compose({ config, clock: new SystemClock(), logger, isDraining: () => state.draining });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`tollgate: invalid configuration in ${options.configFile}\n`);
    for (const problem of error.problems) process.stderr.write(`  ${problem}\n`);
    return 2;
  }
  return listenUntilSignal({
    config,
    composed,
    logger,
    state,
    name: "tollgate",
    fields: { config: options.configFile },
  });
}

/** `tollgate backend`: one simulated replica as an OpenAI-compatible server with vLLM's metric names. */
async function backendCommand(argv: string[]): Promise<number> {
  const command = parseBackendCommand(argv, { env: process.env });
  if (command.kind === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command.kind === "error") {
    for (const problem of command.problems) process.stderr.write(`tollgate backend: ${problem}\n`);
    return 2;
  }
  const { config, source } = command;
  const logger = createLogger(config);
  const state = { draining: false };
  let composed: Composed;
  try {
    composed = composeReplicaServer({
      config,
      clock: new SystemClock(),
      logger,
      isDraining: () => state.draining,
    });
  } catch (error) {
    // Flags that pass the schema can still describe a replica that cannot exist (weights that do not fit).
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) process.stderr.write(`tollgate backend: ${problem}\n`);
    return 2;
  }
  const deployment = config.deployments[0];
  return listenUntilSignal({
    config,
    composed,
    logger,
    state,
    name: "tollgate backend",
    fields: {
      role: "backend",
      config: source,
      deployment: deployment?.name,
      gpu: deployment?.backend.type === "simulated" ? deployment.backend.hardware : undefined,
    },
  });
}

function createLogger(config: Config): Logger {
  // Asynchronous stdout (sonic-boom): a log line never blocks the event loop; flushed at shutdown.
  return pino(
    { level: config.log.level, base: { service: "tollgate" } },
    pino.destination({ dest: 1, sync: false, minLength: 0 }),
  );
}

/**
 * After the grace period, how long closing the backends and the store may take before the process is made to
 * exit. A clean shutdown leaves nothing on the event loop and exits long before; this is the backstop.
 */
const CLOSE_DEADLINE_MS = 3000;

/**
 * Listens, logs the start-up line (JSON with `port`: harnesses wait for it), and on SIGTERM/SIGINT turns
 * /readyz to 503, drains in-flight requests for at most server.shutdownGraceMs, closes the backends and exits 0.
 * The exit is the event loop running empty: every socket and timer is released by then. Should something
 * still hold it CLOSE_DEADLINE_MS past the grace period, the process logs what (getActiveResourcesInfo) and
 * exits 1, so a leak shows up as a failed shutdown rather than a process that never stops.
 */
async function listenUntilSignal(options: {
  config: Config;
  composed: Composed;
  logger: Logger;
  state: { draining: boolean };
  name: string;
  fields: Record<string, unknown>;
}): Promise<number> {
  const { config, composed, logger, state } = options;
  const { gateway, app } = composed;
  await composed.ready();
  const server = await startServer(app, {
    port: config.server.port,
    host: config.server.host,
    timeouts: config.server,
  });
  logger.info(
    {
      port: server.port,
      host: config.server.host,
      models: gateway.listModels().map((m) => m.id),
      ...options.fields,
    },
    `${options.name} listening on http://${config.server.host}:${server.port}`,
  );

  return new Promise<number>((resolveExit) => {
    const shutdown = async (signal: string) => {
      if (state.draining) return;
      state.draining = true;
      logger.info(
        { signal, graceMs: config.server.shutdownGraceMs },
        "shutting down: draining in-flight requests",
      );
      // Unref'd: it fires only when something else still keeps the process alive.
      setTimeout(() => {
        logger.error(
          { handles: process.getActiveResourcesInfo() },
          "still running after shutdown: something was not released; exiting",
        );
        logger.flush();
        process.exit(1);
      }, config.server.shutdownGraceMs + CLOSE_DEADLINE_MS).unref();
      await server.close(config.server.shutdownGraceMs);
      await composed.close();
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
