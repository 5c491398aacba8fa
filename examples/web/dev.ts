/**
 * `npm run web`: the example frontend against the service on its embedded emulator. Starts the
 * service on PORT (default 4000) with CORS open to the page (at localhost:5173 and 127.0.0.1:5173),
 * and Vite's dev server on 5173. With PERSISTED_DOCUMENTS=require (or allow), the service runs only
 * the page's own documents, from the manifest its codegen writes.
 */
import { createServer } from "vite";
import { loadConfig } from "../../src/config/loadConfig.js";
import { startService } from "../../src/startService.js";

const PAGE_ORIGIN = "http://localhost:5173";
// The page may be opened by either name: a browser sends whichever origin is in its address bar.
// PERSISTED_DOCUMENTS=allow|require runs the service on the page's own manifest (the client preset's, see codegen.yml).
const MANIFEST = new URL("src/__generated__/persisted-documents.json", import.meta.url).pathname;
const trusted = process.env["PERSISTED_DOCUMENTS"] !== undefined && process.env["PERSISTED_DOCUMENTS"] !== "off";
const config = loadConfig({
  ...process.env,
  CORS_ORIGINS: `${PAGE_ORIGIN},http://127.0.0.1:5173`,
  ...(trusted && process.env["PERSISTED_DOCUMENTS_MANIFEST"] === undefined ? { PERSISTED_DOCUMENTS_MANIFEST: MANIFEST } : {}),
});
if (config.upstream.kind !== "emulator") throw new Error("npm run web runs on the embedded emulator: unset APPFABRIC_APP_BUNDLE.");

const service = await startService(config, { prettyLogs: process.stdout.isTTY === true });
const vite = await createServer({
  root: new URL(".", import.meta.url).pathname,
  define: { "import.meta.env.VITE_GRAPHQL_URL": JSON.stringify(service.url.href) },
});
await vite.listen();
service.logger.info(`Example frontend ready at ${PAGE_ORIGIN}/ (service at ${service.url.href}, on the emulator: no AWS calls).`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void Promise.all([vite.close(), service.stop()]).then(() => process.exit(0));
  });
}
