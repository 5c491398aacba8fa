/**
 * The AppFabric emulator as a process of its own, for `npm run bench`: 10,000 tasks, `latencyMs` of
 * added latency (argv[2], default 20). Sends its URL to the parent over IPC, then answers "stats"
 * messages with its call and connection counts and "times" with the median of its answer times since
 * the last "times" (the upstream's own p50, so that a service's added latency does not depend on it),
 * and "started" with the tasks StartUserAccessTasks started and when each turns final (Date.now ms).
 */
import { AppFabricEmulator } from "../src/emulator/AppFabricEmulator.js";
import { syntheticTasks } from "../test/fixtures/syntheticTasks.js";

const emulator = await AppFabricEmulator.start({
  tasks: syntheticTasks(10_000),
  latencyMs: Number(process.argv[2] ?? 20),
  recordCalls: false,
  recordAnswerTimes: true,
});
process.send?.({ url: emulator.url.href });
process.on("message", (message) => {
  if (message === "stats") process.send?.({ calls: emulator.callCount, connections: emulator.connectionsOpened });
  if (message === "started") process.send?.({ started: emulator.startedTasks.map(({ taskId, finishesAt }) => ({ taskId, finishesAt })) });
  if (message === "times") {
    const times = emulator.takeAnswerTimes().sort((a, b) => a - b);
    process.send?.({ p50: times.length === 0 ? null : times[Math.floor(times.length / 2)], count: times.length });
  }
});
