import type {
  BatchGetUserAccessTasksRequest,
  BatchGetUserAccessTasksResponse,
  StartUserAccessTasksRequest,
  StartUserAccessTasksResponse,
  UserAccessResultItem,
} from "../appfabric/types.js";
import type { StartedTasks } from "./startedTasks.js";

/** An answer, before any fault shapes how it is sent. */
export interface OperationAnswer {
  status: number;
  text: string;
}

/**
 * `BatchGetUserAccessTasks` on a validated request: the known tasks among the ids (fixed ones, then
 * started ones), each once, in a shuffled order, since AWS promises none. Unknown ids are left out.
 */
export function batchGetUserAccessTasks(
  request: BatchGetUserAccessTasksRequest,
  state: { tasks: ReadonlyMap<string, UserAccessResultItem>; started: StartedTasks; random: () => number },
): OperationAnswer {
  const found = [...new Set(request.taskIdList)].flatMap((taskId) => state.tasks.get(taskId) ?? state.started.view(taskId) ?? []);
  const result: BatchGetUserAccessTasksResponse = { userAccessResultsList: shuffle(found, state.random) };
  return { status: 200, text: JSON.stringify(result) };
}

/** `StartUserAccessTasks` on a validated request: one task per application of the demo bundle. */
export function startUserAccessTasks(request: StartUserAccessTasksRequest, started: StartedTasks): OperationAnswer {
  const result: StartUserAccessTasksResponse = { userAccessTasksList: started.start(request.email) };
  return { status: 201, text: JSON.stringify(result) };
}

/** Fisher–Yates, so every order is possible, as AWS promises none. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
