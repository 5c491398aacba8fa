/** The operation Sandbox opens on: one task by id and a list, sharing one AppFabric call. */
export const EXAMPLE_OPERATION = `# Both fields below share one BatchGetUserAccessTasks call.
query UserAccess($id: ID!, $ids: [ID!]!) {
  one: userAccessTask(id: $id) {
    taskId
    app
    resultStatus
  }
  several: userAccessTasks(ids: $ids) {
    taskId
    app
    tenantDisplayName
    resultStatus
    userFullName
    email
    userStatus
    taskError {
      errorCode
      errorMessage
    }
  }
}
`;

/** Variables for `EXAMPLE_OPERATION`: the first id alone, and every id as the list. */
export function exampleVariables(taskIds: readonly string[]): { id: string; ids: string[] } {
  return { id: taskIds[0] ?? "", ids: [...taskIds] };
}
