import { spawn, type ChildProcess } from "node:child_process";

/** The environment of a machine with no AWS settings at all. */
export const BARE_ENV = { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/tmp", NODE_ENV: "development" };

/** "ready at http://host:port/" in an entry point's log. */
const READY = /ready at (https?:\/\/[^\s/]+\/)/;

export interface SpawnedEntry {
  child: ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  output: () => string;
  /** The first URL after "ready at". */
  url: URL;
}

/**
 * Runs a TypeScript entry point as `npm start` does (node with tsx), and resolves once it prints
 * "ready at <url>". The caller kills it.
 */
export async function spawnEntry(entry: string, env: Record<string, string>): Promise<SpawnedEntry> {
  const child = spawn(process.execPath, ["--import", "tsx", entry], { env: { ...BARE_ENV, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  for (let waited = 0; !READY.test(output); waited += 50) {
    if (waited > 15_000 || child.exitCode !== null) {
      child.kill("SIGKILL");
      throw new Error(`${entry} did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, output: () => output, url: new URL(READY.exec(output)?.[1] ?? "") };
}
