/**
 * `npm run bench:compare -- <git-ref> [clients…]`: the working tree's build against the build of
 * another commit, side by side. Both run as production does (`node dist/index.js`) against one
 * emulator (BENCH_UPSTREAM_MS, default 20), single-id queries, a warm-up and then BENCH_ROUNDS (3)
 * interleaved rounds of BENCH_SECONDS (5) per client count (default 1 and 100). Reports medians of
 * ops/s, p50 and CPU ms per operation of each server process (from /proc). The other commit is built in
 * .ab/<ref> (a git worktree, removed afterwards). Loopback only; bounded in time.
 */
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { buildService, startEmulatorProcess, startServiceProcess } from "./serviceProcess.js";
import { measureSideBySide } from "./sideBySide.js";

const [ref = "HEAD~1", ...counts] = process.argv.slice(2);
const CLIENTS = counts.length > 0 ? counts.map(Number) : [1, 100];
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 3);
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 5);
const UPSTREAM_MS = Number(process.env["BENCH_UPSTREAM_MS"] ?? 20);

const dir = `.ab/${ref.replace(/[^\w.-]/g, "_")}`;
rmSync(dir, { recursive: true, force: true });
execFileSync("git", ["worktree", "add", "--detach", dir, ref], { stdio: "ignore" });
try {
  execFileSync("npx", ["tsc", "-p", `${dir}/tsconfig.build.json`, "--outDir", `${dir}/dist`], { stdio: "inherit" });
  await buildService();
  const emulator = await startEmulatorProcess(UPSTREAM_MS);
  const builds = { [ref]: `${dir}/dist/index.js`, "working tree": "dist/index.js" };
  const servers = await Promise.all(
    Object.entries(builds).map(async ([name, entry]) => ({ name, ...(await startServiceProcess(emulator.url, {}, undefined, entry)) })),
  );
  await measureSideBySide(servers, { clients: CLIENTS, rounds: ROUNDS, seconds: SECONDS });
  for (const server of servers) server.child.kill();
  emulator.child.kill();
} finally {
  execFileSync("git", ["worktree", "remove", "--force", dir], { stdio: "ignore" });
}
process.exit(0);
