import { CLIENT_MAX_ALIASES } from "../../server/operationLimits.js";
import type { SettingSpec } from "../SettingSpec.js";

export const limits = {
  group: "Requests and limits",
  settings: [
    {
      name: "OPERATION_TIMEOUT_MS",
      kind: "integer",
      default: 15_000,
      min: 1,
      max: 300_000,
      doc: "the most one GraphQL operation may spend on AppFabric, retries and queueing included",
    },
    {
      name: "MAX_TASK_IDS_PER_OPERATION",
      kind: "integer",
      default: 500,
      min: 1,
      max: 100_000,
      doc: "task ids one operation may list, duplicates and malformed ids included, across `userAccessTask`, `userAccessTasks`, `userAccessTasksUpdated` and `_entities` (more: 400 `BAD_USER_INPUT`, no call)",
    },
    {
      name: "MAX_REQUEST_BYTES",
      kind: "integer",
      default: 100 * 1024,
      min: 1024,
      max: 100 * 1024 * 1024,
      doc: "largest request body (more: HTTP 413)",
    },
    {
      name: "REQUEST_TIMEOUT_MS",
      kind: "integer",
      default: 10_000,
      min: 100,
      max: 300_000,
      doc: "the most a request's headers and body may take to arrive; a stalled upload is answered 408 and closed. A connection that makes no progress at all for `REQUEST_TIMEOUT_MS` + `OPERATION_TIMEOUT_MS` + 5 s (a client that stops reading its answers) is closed",
    },
    {
      name: "PERSISTED_DOCUMENTS",
      kind: "text",
      default: "off",
      values: "`off`, `allow` or `require`",
      doc: 'trusted documents (see "Trusted documents"): `allow` runs the manifest\'s documents by id alone and everything else as sent; `require` runs only them for direct callers (anything else: 400 `PERSISTED_QUERY_NOT_IN_LIST`, nothing parsed). Requests that carry `ROUTER_SECRET` are exempt',
    },
    {
      name: "PERSISTED_DOCUMENTS_MANIFEST",
      kind: "text",
      values: "a file path",
      doc: "with `PERSISTED_DOCUMENTS`: Apollo's persisted query manifest or the client preset's `persisted-documents.json`; each document is parsed and validated at start, and a bad one stops it",
    },
    {
      name: "ROUTER_MAX_TASK_IDS_PER_OPERATION",
      kind: "integer",
      default: 5_000,
      min: 1,
      max: 100_000,
      shownDefault: "5000 (at least `MAX_TASK_IDS_PER_OPERATION`)",
      doc: "with `ROUTER_SECRET`: task ids one request that carries the secret may list (a router's subgraph request, all its merged fetches together); at least `MAX_TASK_IDS_PER_OPERATION`. Ids written in `userAccessTask(s)` keep `MAX_TASK_IDS_PER_OPERATION`: a router passes a client's arguments on as written",
    },
    {
      name: "ROUTER_MAX_REQUEST_BYTES",
      kind: "integer",
      default: 1024 * 1024,
      min: 1024,
      max: 100 * 1024 * 1024,
      shownDefault: "1048576 (at least `MAX_REQUEST_BYTES`)",
      doc: "with `ROUTER_SECRET`: largest body of a request that carries the secret; at least `MAX_REQUEST_BYTES`",
    },
    {
      name: "ROUTER_MAX_ALIASES",
      kind: "integer",
      default: 200,
      min: CLIENT_MAX_ALIASES,
      max: 10_000,
      doc: "with `ROUTER_SECRET`: aliases in a request that carries the secret (tokens, directives and cost grow with it, see docs/supergraph.md)",
    },
  ],
} as const satisfies { group: string; settings: readonly SettingSpec[] };
