// @ts-check
/**
 * The direction imports run in `src/`, checked by `npm run lint` (dependency-cruiser, type imports
 * included). Each folder may import only from the folders before it in LAYERS (and from itself); the
 * emulator only from `lib/` and `appfabric/`; the files at `src/`'s top (the entry points and the
 * composition root) from anything. No file may take part in an import circle.
 *
 * A component that needs something of a higher layer declares the port itself and the higher layer
 * implements it (the retry layer's `CallGate`, the result cache's `SharedResultStore`, the observers).
 */
const LAYERS = [
  "lib", // what every part uses: record checks, error normalising, clocks, listen problems
  "appfabric", // the AppFabric client: wire types, signing, retries, the CallGate port
  "errors", // the closed error codes and how a failure becomes a GraphQL error
  "observability", // logs, metrics and traces; implements the components' observer ports
  "loaders", // the read path: per-operation loader, result cache, cross-operation batcher
  "fleet", // Redis-backed implementations: shared results, holds and rates, persisted queries
  "callers", // who a caller is, what it may do, its budgets and audit trail
  "subscriptions", // the task watcher
  "resolvers", // the schema's resolvers, their context and generated types
  "server", // HTTP, WebSocket, admission, Apollo plugins
  "config", // every setting, read once; imports the settings types of the parts it configures
];

/** @type {Record<string, string[]>} */
const allowed = Object.fromEntries(LAYERS.map((layer, index) => [layer, LAYERS.slice(0, index)]));
allowed.emulator = ["lib", "appfabric"];
allowed.config.push("emulator");

/** @type {import("dependency-cruiser").IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "An import circle (type imports count): move the shared part down, or declare a port in the consumer.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    ...Object.entries(allowed).map(([layer, below]) => ({
      name: `${layer}-imports-downwards`,
      comment: `src/${layer}/ may import only from ${below.length === 0 ? "itself" : below.map((b) => `src/${b}/`).join(", ")}: see LAYERS in .dependency-cruiser.cjs.`,
      severity: /** @type {const} */ ("error"),
      from: { path: `^src/${layer}/` },
      to: { path: "^src/", pathNot: `^src/(${[layer, ...below].join("|")})/` },
    })),
    {
      name: "unknown-folder",
      comment: "Every folder of src/ has its place in LAYERS (.dependency-cruiser.cjs).",
      severity: "error",
      from: { path: "^src/[^/]+/", pathNot: `^src/(${Object.keys(allowed).join("|")})/` },
      to: {},
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    exclude: { path: "node_modules" },
  },
};
