import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { createClient, type RedisClientType } from "@redis/client";
import { freePort } from "./freePort.js";

/** Debian's package; `.ci/run` installs it when missing. */
export const REDIS_SERVER = "/usr/bin/redis-server";

export interface RedisServer {
  /** `redis://:<password>@127.0.0.1:<port>`: every test goes through AUTH. */
  url: string;
  password: string;
  port: number;
  /** SIGKILL: Redis dies as in a crash, with nothing saved. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: Redis keeps its connections but answers nothing (a slow or hung Redis). */
  pause(): void;
  resume(): void;
  /** The keys it holds now, by pattern. */
  keys(pattern?: string): Promise<string[]>;
  /** The value of one key. */
  get(key: string): Promise<string | null>;
  stop(): Promise<void>;
}

/**
 * A real `redis-server` on a free loopback port, with a password, no persistence and nothing from
 * the machine's own configuration. Ready when it says so on its log.
 */
export async function startRedisServer(): Promise<RedisServer> {
  if (!existsSync(REDIS_SERVER)) throw new Error(`${REDIS_SERVER} is missing: apt-get install redis-server (.ci/run installs it)`);
  const port = await freePort();
  const password = randomBytes(12).toString("hex");
  let child: ChildProcess | undefined;
  const launch = async () => {
    const process = spawn(
      REDIS_SERVER,
      ["--port", String(port), "--bind", "127.0.0.1", "--requirepass", password, "--save", "", "--appendonly", "no", "--loglevel", "notice"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child = process;
    await new Promise<void>((resolve, reject) => {
      let log = "";
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes("Ready to accept connections")) {
          process.stdout?.off("data", onData);
          resolve();
        }
      };
      process.stdout?.on("data", onData);
      process.once("exit", (code) => reject(new Error(`redis-server exited (${code}) before it was ready: ${log.slice(-500)}`)));
    });
    process.stdout?.resume();
    process.stderr?.resume();
  };
  const exited = async () => {
    const process = child;
    if (process === undefined || process.exitCode !== null || process.signalCode !== null) return;
    await new Promise((resolve) => process.once("exit", resolve));
  };
  await launch();
  const url = `redis://:${password}@127.0.0.1:${port}`;
  const withClient = async <T>(use: (client: RedisClientType) => Promise<T>): Promise<T> => {
    const client: RedisClientType = createClient({ url });
    await client.connect();
    try {
      return await use(client);
    } finally {
      await client.close();
    }
  };
  return {
    url,
    password,
    port,
    kill: async () => {
      child?.kill("SIGKILL");
      await exited();
    },
    restart: launch,
    pause: () => child?.kill("SIGSTOP"),
    resume: () => child?.kill("SIGCONT"),
    keys: (pattern = "*") => withClient((client) => client.keys(pattern)),
    get: (key) => withClient((client) => client.get(key)),
    stop: async () => {
      child?.kill("SIGCONT");
      child?.kill("SIGKILL");
      await exited();
    },
  };
}
