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
  /** Resolves once the output holds `text` (a log line may arrive in a later chunk than "ready at"). */
  printed: (text: string) => Promise<void>;
}

/** Node arguments that run a TypeScript entry point as `npm start` does. */
export const withTsx = (entry: string) => ["--import", "tsx", entry];

/**
 * Runs node with `nodeArgs` (e.g. `withTsx("src/index.ts")` or `["dist/index.js"]`) and resolves once
 * it logs "ready at <url>". The caller kills it.
 */
export async function spawnEntry(nodeArgs: string[], env: Record<string, string>): Promise<SpawnedEntry> {
  const entry = nodeArgs.join(" ");
  const child = spawn(process.execPath, nodeArgs, { env: { ...BARE_ENV, ...env }, stdio: ["ignore", "pipe", "pipe"] });
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
  const printed = async (text: string) => {
    for (let waited = 0; !output.includes(text); waited += 50) {
      if (waited > 15_000 || child.exitCode !== null) throw new Error(`${entry} never printed ${JSON.stringify(text)}:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  return { child, output: () => output, url: new URL(READY.exec(output)?.[1] ?? ""), printed };
}
