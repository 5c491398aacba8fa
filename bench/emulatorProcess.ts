/**
 * The AppFabric emulator as a process of its own, for `npm run bench`: 10,000 tasks, `latencyMs` of
 * added latency (argv[2], default 20). Sends its URL to the parent over IPC, then answers "stats"
 * messages with its call and connection counts and "times" with the median of its answer times since
 * the last "times" (the upstream's own p50, so that a service's added latency does not depend on it),
 * and "started" with the tasks StartUserAccessTasks started and when each turns final (Date.now ms).
 * With argv[3], an account quota: past that many calls in one second, 429 ThrottlingException without
 * Retry-After (as AWS throttles an account); "stats" then also says how many calls it throttled.
 */
import { AppFabricEmulator } from "../src/emulator/AppFabricEmulator.js";
import { syntheticTasks } from "../test/fixtures/syntheticTasks.js";

const quota = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
let second = 0;
let callsThisSecond = 0;
let throttled = 0;
/** Whether this call is past the account's quota of calls in the current second. */
const pastQuota = () => {
  const now = Math.floor(Date.now() / 1_000);
  if (now !== second) [second, callsThisSecond] = [now, 0];
  callsThisSecond += 1;
  const past = quota !== undefined && callsThisSecond > quota;
  if (past) throttled += 1;
  return past;
};

const emulator = await AppFabricEmulator.start({
  tasks: syntheticTasks(10_000),
  faults: quota === undefined ? [] : [{ fault: { kind: "error", status: 429, errorType: "ThrottlingException", message: "Rate exceeded" }, when: pastQuota }],
  latencyMs: Number(process.argv[2] ?? 20),
  recordCalls: false,
  recordAnswerTimes: true,
});
process.send?.({ url: emulator.url.href });
process.on("message", (message) => {
  if (message === "stats") process.send?.({ calls: emulator.callCount, connections: emulator.connectionsOpened, throttled });
  if (message === "started") process.send?.({ started: emulator.startedTasks.map(({ taskId, finishesAt }) => ({ taskId, finishesAt })) });
  if (message === "times") {
    const times = emulator.takeAnswerTimes().sort((a, b) => a - b);
    process.send?.({ p50: times.length === 0 ? null : times[Math.floor(times.length / 2)], count: times.length });
  }
});
