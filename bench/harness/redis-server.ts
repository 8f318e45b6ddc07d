import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { connect, createServer } from "node:net";

/**
 * A throwaway `redis-server` child on a free loopback port, for runs that must stop Redis (SIGSTOP: the
 * process hangs while its sockets stay open, as a wedged or swapping Redis does) without touching the shared
 * one. No persistence: nothing is written to disk.
 */
export interface RedisServerProcess {
  url: string;
  port: number;
  pid: number;
  /** SIGSTOP: connections stay open, nothing answers. */
  pause(): void;
  /** SIGCONT: answers again, working through what queued up meanwhile. */
  resume(): void;
  /** Resumes it if paused, then kills it and waits for the exit (idempotent). */
  stop(): Promise<void>;
}

/** True when `redis-server` is on PATH. */
export function redisServerOnPath(): boolean {
  return spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
}

/** A port nothing listens on right now: bind port 0, read the port, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}

/**
 * Starts redis-server and resolves once it accepts connections (at most `startTimeoutMs`). The port is free
 * when picked; should another process take it first, the child exits and the start is retried on a new one.
 */
export async function startRedisServer(
  options: { startTimeoutMs?: number } = {},
): Promise<RedisServerProcess> {
  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3 && Date.now() < deadline; attempt++) {
    const port = await freePort();
    const child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: "ignore" },
    );
    try {
      await waitForPort(child, port, deadline);
      return wrap(child, port);
    } catch (error) {
      lastError = error;
      child.kill("SIGKILL");
    }
  }
  throw new Error(`redis-server did not start: ${String(lastError)}`);
}

function wrap(child: ChildProcess, port: number): RedisServerProcess {
  const pid = child.pid ?? -1;
  const alive = () => child.exitCode === null && child.signalCode === null;
  const signal = (name: NodeJS.Signals) => {
    if (alive()) process.kill(pid, name);
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid,
    pause: () => signal("SIGSTOP"),
    resume: () => signal("SIGCONT"),
    stop: () =>
      new Promise((resolve) => {
        if (!alive()) {
          resolve();
          return;
        }
        child.once("exit", () => resolve());
        signal("SIGCONT");
        signal("SIGKILL");
      }),
  };
}

/** Polls the port with a TCP connect until it accepts, the child exits, or the deadline passes. */
async function waitForPort(child: ChildProcess, port: number, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server exited (${child.exitCode ?? child.signalCode}) on port ${port}`);
    }
    if (await accepts(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`redis-server not accepting on port ${port} in time`);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.setTimeout(500);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.once("timeout", () => done(false));
  });
}
