/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  mutation StartLookup($email: String!) {\n    startUserAccessTasks(email: $email) {\n      app\n      tenantId\n      taskId\n      error {\n        errorCode\n        errorMessage\n      }\n    }\n  }\n": typeof types.StartLookupDocument,
    "\n  fragment TaskFields on UserAccessTask {\n    taskId\n    app\n    resultStatus\n    userFullName\n    userStatus\n    taskError {\n      errorCode\n      errorMessage\n    }\n  }\n": typeof types.TaskFieldsFragmentDoc,
    "\n  subscription WatchTasks($ids: [ID!]!) {\n    userAccessTasksUpdated(ids: $ids) {\n      ...TaskFields\n    }\n  }\n": typeof types.WatchTasksDocument,
    "\n  query PollTasks($ids: [ID!]!) {\n    userAccessTasks(ids: $ids) {\n      ...TaskFields\n    }\n  }\n": typeof types.PollTasksDocument,
};
const documents: Documents = {
    "\n  mutation StartLookup($email: String!) {\n    startUserAccessTasks(email: $email) {\n      app\n      tenantId\n      taskId\n      error {\n        errorCode\n        errorMessage\n      }\n    }\n  }\n": types.StartLookupDocument,
    "\n  fragment TaskFields on UserAccessTask {\n    taskId\n    app\n    resultStatus\n    userFullName\n    userStatus\n    taskError {\n      errorCode\n      errorMessage\n    }\n  }\n": types.TaskFieldsFragmentDoc,
    "\n  subscription WatchTasks($ids: [ID!]!) {\n    userAccessTasksUpdated(ids: $ids) {\n      ...TaskFields\n    }\n  }\n": types.WatchTasksDocument,
    "\n  query PollTasks($ids: [ID!]!) {\n    userAccessTasks(ids: $ids) {\n      ...TaskFields\n    }\n  }\n": types.PollTasksDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StartLookup($email: String!) {\n    startUserAccessTasks(email: $email) {\n      app\n      tenantId\n      taskId\n      error {\n        errorCode\n        errorMessage\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation StartLookup($email: String!) {\n    startUserAccessTasks(email: $email) {\n      app\n      tenantId\n      taskId\n      error {\n        errorCode\n        errorMessage\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment TaskFields on UserAccessTask {\n    taskId\n    app\n    resultStatus\n    userFullName\n    userStatus\n    taskError {\n      errorCode\n      errorMessage\n    }\n  }\n"): (typeof documents)["\n  fragment TaskFields on UserAccessTask {\n    taskId\n    app\n    resultStatus\n    userFullName\n    userStatus\n    taskError {\n      errorCode\n      errorMessage\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription WatchTasks($ids: [ID!]!) {\n    userAccessTasksUpdated(ids: $ids) {\n      ...TaskFields\n    }\n  }\n"): (typeof documents)["\n  subscription WatchTasks($ids: [ID!]!) {\n    userAccessTasksUpdated(ids: $ids) {\n      ...TaskFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query PollTasks($ids: [ID!]!) {\n    userAccessTasks(ids: $ids) {\n      ...TaskFields\n    }\n  }\n"): (typeof documents)["\n  query PollTasks($ids: [ID!]!) {\n    userAccessTasks(ids: $ids) {\n      ...TaskFields\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;