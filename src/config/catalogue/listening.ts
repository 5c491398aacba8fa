import type { SettingSpec } from "../SettingSpec.js";

export const listening = {
  group: "Listening and logging",
  settings: [
    { name: "PORT", kind: "integer", default: 4000, min: 0, max: 65535, doc: "HTTP port (`0` picks a free one)" },
    { name: "HOST", kind: "text", default: "0.0.0.0", values: "an IP address or a host name", doc: "interface to listen on" },
    {
      name: "LOG_LEVEL",
      kind: "text",
      default: "info",
      values: "`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`",
      doc: "the lowest level logged",
    },
    {
      name: "NODE_ENV",
      kind: "text",
      values: "`production`, `development` or `test`",
      doc: "`production`: introspection, Sandbox and field suggestions off; `APPFABRIC_APP_BUNDLE` required. Anything else (a typo such as `prod`) stops the start",
    },
    {
      name: "GRAPHQL_INTROSPECTION",
      kind: "boolean",
      shownDefault: "on, off in production",
      doc: "introspection and Sandbox, whatever `NODE_ENV` says",
    },
    {
      name: "LANDING_PAGE",
      kind: "text",
      default: "sandbox",
      values: "`sandbox` or `graphiql`",
      doc: 'what a browser opening the endpoint gets while introspection is on: Apollo Sandbox (loaded from Apollo\'s CDN) or GraphiQL, served by the service itself, which works without internet access (see "Exploring the API"; `npm run build:explorer` first)',
    },
    {
      name: "CORS_ORIGINS",
      kind: "text",
      values: "comma-separated origins",
      doc: "browser origins allowed, e.g. `https://app.example.com`; unset: no cross-origin browser access",
    },
    {
      name: "MAX_CONNECTIONS",
      kind: "integer",
      default: 1024,
      min: 1,
      max: 1_000_000,
      doc: "open connections held at once; more are closed by the socket layer",
    },
    {
      name: "SHUTDOWN_GRACE_MS",
      kind: "integer",
      default: 10_000,
      min: 0,
      max: 300_000,
      doc: "on SIGTERM, how long in-flight requests may finish before every connection still open is closed",
    },
  ],
} as const satisfies { group: string; settings: readonly SettingSpec[] };
