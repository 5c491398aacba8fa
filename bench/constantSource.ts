import type { UserAccessTaskSource } from "../src/loaders/UserAccessTaskSource.js";
import type { TaskStarter } from "../src/resolvers/context.js";

/** Answers every id at once from memory: the "no upstream" side of the benchmarks. */
export const constantSource: UserAccessTaskSource = {
  loadUserAccessTasks: async (taskIds) => taskIds.map((taskId) => ({ taskId, app: "App", resultStatus: "COMPLETED" as const })),
};

/** Starts nothing: the benchmarks only read. */
export const noStarter: TaskStarter = { startUserAccessTasks: async () => [] };
