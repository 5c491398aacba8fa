/**
 * The AppFabric emulator as a process of its own, for `npm run bench`: 10,000 tasks, `latencyMs` of
 * added latency (argv[2], default 20). Sends its URL to the parent over IPC, then answers "stats"
 * messages with its call and connection counts.
 */
import { AppFabricEmulator } from "../src/emulator/AppFabricEmulator.js";
import { syntheticTasks } from "../test/fixtures/syntheticTasks.js";

const emulator = await AppFabricEmulator.start({ tasks: syntheticTasks(10_000), latencyMs: Number(process.argv[2] ?? 20), recordCalls: false });
process.send?.({ url: emulator.url.href });
process.on("message", (message) => {
  if (message === "stats") process.send?.({ calls: emulator.callCount, connections: emulator.connectionsOpened });
});
