import { CombinedGraphQLErrors } from "@apollo/client/errors";
import { useMutation, useQuery, useSubscription } from "@apollo/client/react";
import { useEffect, useState, type FormEvent } from "react";
import { graphql } from "./__generated__/gql.js";
import { describeCode, describeError, describeStartError, errorCodes, startRetryDelay, whyUnreachable, type Unreachable } from "./errorMessages.js";

const START = graphql(`
  mutation StartLookup($email: String!) {
    startUserAccessTasks(email: $email) {
      app
      tenantId
      taskId
      error {
        errorCode
        errorMessage
      }
    }
  }
`);

/** The fields the page shows, for both the subscription and the polling query. */
export const TASK_FIELDS = graphql(`
  fragment TaskFields on UserAccessTask {
    taskId
    app
    resultStatus
    userFullName
    userStatus
    taskError {
      errorCode
      errorMessage
    }
  }
`);

const WATCH = graphql(`
  subscription WatchTasks($ids: [ID!]!) {
    userAccessTasksUpdated(ids: $ids) {
      ...TaskFields
    }
  }
`);

const POLL = graphql(`
  query PollTasks($ids: [ID!]!) {
    userAccessTasks(ids: $ids) {
      ...TaskFields
    }
  }
`);

const FINAL = new Set(["COMPLETED", "FAILED", "EXPIRED"]);
const POLL_INTERVAL_MS = 1000;

/** Type an email, start one task per app, and watch the tasks until every one is final. */
export function App({ serviceUrl }: { serviceUrl: string }) {
  const [email, setEmail] = useState("");
  const [start, started] = useMutation(START);
  // A throttled start is tried again after a pause; the countdown is shown meanwhile.
  const [retryIn, setRetryIn] = useState<number | undefined>(undefined);
  const [unreachable, setUnreachable] = useState<Unreachable>("not_running");
  const items = started.data?.startUserAccessTasks ?? [];
  const ids = items.flatMap((item) => (item.taskId ? [item.taskId] : []));
  // Live updates over the subscription; polling only when the WebSocket cannot be used (a proxy that
  // drops WebSockets, say): the subscription then fails with a network error, not a GraphQL one.
  const [transport, setTransport] = useState<"subscription" | "polling">("subscription");
  const watch = useSubscription(WATCH, { variables: { ids }, skip: ids.length === 0 || transport !== "subscription", errorPolicy: "all" });
  const watchFailed = watch.error !== undefined && !CombinedGraphQLErrors.is(watch.error);
  useEffect(() => {
    if (watchFailed) setTransport("polling");
  }, [watchFailed]);
  const poll = useQuery(POLL, {
    variables: { ids },
    skip: ids.length === 0 || transport !== "polling",
    errorPolicy: "all",
    notifyOnNetworkStatusChange: false,
  });
  const latest = transport === "subscription" ? watch.data?.userAccessTasksUpdated : poll.data?.userAccessTasks;
  const tasks = new Map((latest ?? []).flatMap((task) => (task ? [[task.taskId, task] as const] : [])));
  const allFinal = ids.length > 0 && ids.every((id) => FINAL.has(tasks.get(id)?.resultStatus ?? ""));
  // Poll until every task is final, then stop: no request is wasted on answers that cannot change.
  const { startPolling, stopPolling } = poll;
  const polling = transport === "polling" && ids.length > 0 && !allFinal;
  useEffect(() => {
    if (polling) startPolling(POLL_INTERVAL_MS);
    else stopPolling();
  }, [polling, startPolling, stopPolling]);

  const attempt = (retriesSoFar: number) => {
    setRetryIn(undefined);
    start({ variables: { email } }).catch(async (error: unknown) => {
      const delay = startRetryDelay(error, retriesSoFar);
      if (delay !== undefined) {
        setRetryIn(delay);
        setTimeout(() => attempt(retriesSoFar + 1), delay * 1000);
      } else if (errorCodes(error).length === 0) {
        setUnreachable(await whyUnreachable(serviceUrl));
      }
    });
  };
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    attempt(0);
  };
  const waiting = started.loading || retryIn !== undefined;
  const readError = transport === "subscription" ? watch.error : poll.error;
  const pollCodes = errorCodes(readError).filter((code) => code !== "NOT_FOUND");

  return (
    <main>
      <h1>Who has access to what?</h1>
      <p className="summary">Starts an AWS AppFabric user-access lookup in every connected app and shows each app's answer as it arrives.</p>
      <form onSubmit={onSubmit}>
        <input data-testid="email" type="email" required placeholder="name@example.com" value={email} onChange={(event) => setEmail(event.target.value)} />
        <button data-testid="start" type="submit" disabled={waiting}>
          {waiting ? "Starting…" : "Start lookup"}
        </button>
      </form>
      {started.error && (
        <p className="notice" data-testid="start-error">
          {describeStartError(started.error, retryIn, unreachable)}
        </p>
      )}
      {readError && !watchFailed && pollCodes.length === 0 && errorCodes(readError).length === 0 && (
        <p className="notice" data-testid="poll-error">
          {describeError(readError, unreachable)}
        </p>
      )}
      {pollCodes.length > 0 && (
        <p className="notice" data-testid="poll-error">
          {describeCode(pollCodes[0] ?? "")}
        </p>
      )}
      {items.length > 0 && (
        <>
          <p className="summary" data-testid="progress">
            {allFinal
              ? "All apps have answered."
              : `Waiting for ${ids.filter((id) => !FINAL.has(tasks.get(id)?.resultStatus ?? "")).length} of ${ids.length} apps…`}{" "}
            <span className="transport" data-testid="transport" data-transport={transport}>
              {transport === "subscription" ? "(live updates)" : "(checking every second)"}
            </span>
          </p>
          <table>
            <thead>
              <tr>
                <th>App</th>
                <th>Status</th>
                <th>User</th>
                <th>Details</th>
              </tr>
            </thead>
            <tbody>
              {items.map((item) => {
                const task = item.taskId ? tasks.get(item.taskId) : undefined;
                const status = item.taskId ? (task?.resultStatus ?? "IN_PROGRESS") : "NOT_STARTED";
                return (
                  <tr key={`${item.app}/${item.tenantId}`} data-testid="task-row" data-app={item.app} data-task-id={item.taskId ?? ""} data-status={status}>
                    <td>{item.app}</td>
                    <td>
                      <span className={`badge ${status}`}>{status.replace("_", " ").toLowerCase()}</span>
                    </td>
                    <td>{task?.userFullName ? `${task.userFullName}${task.userStatus ? ` (${task.userStatus.toLowerCase()})` : ""}` : ""}</td>
                    <td>{item.error?.errorMessage ?? task?.taskError?.errorMessage ?? ""}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </main>
  );
}
