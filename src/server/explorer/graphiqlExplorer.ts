import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ApolloServerPlugin } from "@apollo/server";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";

/** Where `npm run build:explorer` writes GraphiQL (explorer/dist), from src/server/explorer and dist/server/explorer alike. */
export const BUILT_EXPLORER_DIR = fileURLToPath(new URL("../../../explorer/dist/", import.meta.url));
/** The folder of the page's scripts, styles, workers and font; the page names them `./graphiql/<hashed name>`. */
const ASSETS = "graphiql";
/** Where the page takes its settings: a JSON script element, which runs nothing. */
const SETTINGS_PLACEHOLDER = "<!--explorer-settings-->";

/**
 * What GraphiQL's page and files may load and do, sent as headers with each (a worker gets its policy
 * from its own script's response, and only a header can refuse framing): everything from the service
 * itself and nothing from anywhere else. Monaco sets inline styles; its workers are the service's files.
 */
const EXPLORER_HEADERS = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
    "worker-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
};

/** GraphiQL as built: the page (with its settings still to fill in) and the folder of its assets. */
export interface BuiltExplorer {
  page: string;
  assetsDir: string;
}

/** What GraphiQL opens on: the example operation and its variables. */
export interface ExplorerSettings {
  query: string;
  variables: Record<string, unknown>;
}

/** Reads GraphiQL as `npm run build:explorer` left it; a string says what is missing. */
export function loadBuiltExplorer(dir: string = BUILT_EXPLORER_DIR): BuiltExplorer | string {
  let page: string;
  try {
    page = readFileSync(join(dir, "index.html"), "utf8");
  } catch {
    return `GraphiQL is not built (${join(dir, "index.html")} is missing): run \`npm run build:explorer\``;
  }
  if (!page.includes(SETTINGS_PLACEHOLDER)) return `${join(dir, "index.html")} is not GraphiQL as \`npm run build:explorer\` builds it`;
  return { page, assetsDir: join(dir, ASSETS) };
}

/**
 * The page with its settings written in. They are JSON inside a `<script type="application/json">`;
 * every `<` is escaped, so that no text in them (an id, a query) can end the element or open a comment.
 */
export function explorerPage(explorer: BuiltExplorer, settings: ExplorerSettings): string {
  const json = JSON.stringify(settings).replace(/</g, "\\u003c");
  return explorer.page.replace(SETTINGS_PLACEHOLDER, () => json);
}

/** Apollo's landing page hook, answering a browser's GET with GraphiQL instead of Sandbox. */
export function graphiqlLandingPage(html: string): ApolloServerPlugin {
  return {
    async serverWillStart() {
      return {
        async renderLandingPage() {
          return { html };
        },
      };
    },
  };
}

/**
 * Serves the page's assets at `/graphiql/`: only the files the build wrote, found once at start (no
 * path from a request reaches the file system), cached for good, since their names carry their hash;
 * the page and the assets carry GraphiQL's policy headers.
 */
export async function serveExplorerAssets(app: FastifyInstance, explorer: BuiltExplorer): Promise<void> {
  // The page is Apollo's landing page, an HTML answer of the GraphQL route; nothing else here is HTML.
  app.addHook("onSend", async (_request, reply) => {
    if (String(reply.getHeader("content-type") ?? "").startsWith("text/html")) reply.headers(EXPLORER_HEADERS);
  });
  await app.register(fastifyStatic, {
    setHeaders: (reply) => {
      reply.headers(EXPLORER_HEADERS);
    },
    root: explorer.assetsDir,
    prefix: `/${ASSETS}/`,
    wildcard: false,
    index: false,
    list: false,
    dotfiles: "deny",
    immutable: true,
    maxAge: "365d",
  });
}
