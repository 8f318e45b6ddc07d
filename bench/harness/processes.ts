import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

/** A server started as a child process on a loopback ephemeral port. */
export interface ServerProcess {
  name: string;
  port: number;
  pid: number;
  baseUrl: string;
  /** Resident set size of the process now, from /proc (Linux), in bytes. */
  rssBytes(): number;
  /** Settles when the process exits, with its code (or the signal that ended it). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/**
 * Starts `node <args>` and waits for a stdout line of JSON carrying `port` (the gateway's start-up log line and
 * the bench servers' `{"port":N}` both do). Servers run in their own process so the load generator does not share
 * their event loop; on this 2-core machine that gives each one core.
 */
export function startServer(options: {
  name: string;
  args: string[];
  env?: Record<string, string>;
}): Promise<ServerProcess> {
  const child = spawn(process.execPath, options.args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...options.env },
  });
  let stderr = "";
  child.stderr?.on("data", (data: Buffer) => {
    stderr = (stderr + data.toString()).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${options.name} did not report a port within 30 s: ${stderr}`));
    }, 30_000);
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      let port: number | undefined;
      try {
        port = (JSON.parse(line) as { port?: number }).port;
      } catch {
        return;
      }
      if (port === undefined) return;
      clearTimeout(timer);
      lines.removeAllListeners("line");
      child.stdout?.resume();
      resolve(wrap(options.name, child, port));
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited with ${code} before listening: ${stderr}`));
    });
  });
}

function wrap(name: string, child: ChildProcess, port: number): ServerProcess {
  const pid = child.pid ?? -1;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  return {
    name,
    port,
    pid,
    exited,
    baseUrl: `http://127.0.0.1:${port}`,
    rssBytes: () => {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
      return kb === undefined ? 0 : Number(kb) * 1024;
    },
    stop: () =>
      new Promise((resolve) => {
        // A process ended by a signal has no exit code, only a signal code.
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve();
          return;
        }
        const kill = setTimeout(() => child.kill("SIGKILL"), 15_000);
        child.once("exit", () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}

/** The compiled gateway (`npm run bench` builds first) with a bench config. */
export function startGateway(configFile: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  return startServer({
    name: "tollgate",
    args: ["dist/main.js", "serve", "--config", configFile, "--port", "0"],
    env,
  });
}
