import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type RedisClientType } from "@redis/client";
import { freePort } from "./freePort.js";

/** Debian's package; `.ci/run` installs it when missing. */
export const REDIS_SERVER = "/usr/bin/redis-server";

export interface RedisServer {
  /** `redis://:<password>@127.0.0.1:<port>` (`rediss://:<password>@localhost:<port>` with TLS): every test goes through AUTH. */
  url: string;
  /** With TLS: the PEM file of the CA that signed the server's certificate. */
  caFile?: string;
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
  /** Writes one key, as anyone with access to Redis could. */
  set(key: string, value: string): Promise<void>;
  /** Any command, e.g. `send("RPUSH", key, "x")`. */
  send(...args: string[]): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * A real `redis-server` on a free loopback port, with a password, no persistence and nothing from
 * the machine's own configuration. Ready when it says so on its log.
 */
interface AclUser {
  name: string;
  password: string;
  rules: string;
}

export async function startRedisServer(options: { tls?: boolean; aclUser?: AclUser; aclUsers?: readonly AclUser[] } = {}): Promise<RedisServer> {
  if (!existsSync(REDIS_SERVER)) throw new Error(`${REDIS_SERVER} is missing: apt-get install redis-server (.ci/run installs it)`);
  const port = await freePort();
  const password = randomBytes(12).toString("hex");
  const tls = options.tls === true ? makeCertificates() : undefined;
  const listen =
    tls === undefined
      ? ["--port", String(port)]
      : [
          "--port",
          "0",
          "--tls-port",
          String(port),
          "--tls-cert-file",
          tls.certFile,
          "--tls-key-file",
          tls.keyFile,
          "--tls-ca-cert-file",
          tls.caFile,
          "--tls-auth-clients",
          "no",
        ];
  // With an ACL user: a file of two users, the default one (the test's own) and the service's.
  const auth = (() => {
    const users = [...(options.aclUser === undefined ? [] : [options.aclUser]), ...(options.aclUsers ?? [])];
    if (users.length === 0) return ["--requirepass", password];
    const file = join(mkdtempSync(join(tmpdir(), "redis-acl-")), "users.acl");
    const lines = users.map(({ name, password: userPassword, rules }) => `user ${name} on >${userPassword} ${rules}\n`);
    writeFileSync(file, `user default on >${password} ~* &* +@all\n${lines.join("")}`);
    return ["--aclfile", file];
  })();
  let child: ChildProcess | undefined;
  const launch = async () => {
    const process = spawn(REDIS_SERVER, [...listen, "--bind", "127.0.0.1", ...auth, "--save", "", "--appendonly", "no", "--loglevel", "notice"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
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
  const url = tls === undefined ? `redis://:${password}@127.0.0.1:${port}` : `rediss://:${password}@localhost:${port}`;
  const withClient = async <T>(use: (client: RedisClientType) => Promise<T>): Promise<T> => {
    const client: RedisClientType = createClient(tls === undefined ? { url } : { url, socket: { tls: true, ca: readFileSync(tls.caFile) } });
    await client.connect();
    try {
      return await use(client);
    } finally {
      await client.close();
    }
  };
  return {
    url,
    ...(tls === undefined ? {} : { caFile: tls.caFile }),
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
    set: (key, value) => withClient(async (client) => void (await client.set(key, value))),
    send: (...args) => withClient((client) => client.sendCommand(args)),
    stop: async () => {
      child?.kill("SIGCONT");
      child?.kill("SIGKILL");
      await exited();
    },
  };
}

/** A CA and a certificate for `localhost` signed by it (openssl, into a temporary directory). */
function makeCertificates(): { caFile: string; certFile: string; keyFile: string } {
  const dir = mkdtempSync(join(tmpdir(), "redis-tls-"));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test CA", "-keyout", file("ca.key"), "-out", file("ca.pem"));
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", file("server.key"), "-out", file("server.csr"));
  writeFileSync(file("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  openssl(
    "x509",
    "-req",
    "-in",
    file("server.csr"),
    "-CA",
    file("ca.pem"),
    "-CAkey",
    file("ca.key"),
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    file("san.ext"),
    "-out",
    file("server.pem"),
  );
  return { caFile: file("ca.pem"), certFile: file("server.pem"), keyFile: file("server.key") };
}
