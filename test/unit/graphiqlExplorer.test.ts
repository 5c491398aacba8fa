import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/loadConfig.js";
import { explorerPage, loadBuiltExplorer } from "../../src/server/explorer/graphiqlExplorer.js";

const PAGE = '<html><body><script type="application/json" id="explorer-settings"><!--explorer-settings--></script></body></html>';

describe("LANDING_PAGE", () => {
  it("is Sandbox by default and GraphiQL, as built, when asked; anything else stops the start", () => {
    expect(loadConfig({}).graphiql).toBeUndefined();
    expect(loadConfig({ LANDING_PAGE: "graphiql" }).graphiql?.page).toContain("<!--explorer-settings-->");
    expect(() => loadConfig({ LANDING_PAGE: "GraphiQL" })).toThrow('LANDING_PAGE must be sandbox or graphiql; received "GraphiQL".');
    expect(() => loadConfig({ LANDING_PAGE: "playground" })).toThrow("LANDING_PAGE must be sandbox or graphiql");
  });

  it("needs no page where no page is shown: without introspection, GraphiQL is not read", () => {
    expect(loadConfig({ LANDING_PAGE: "graphiql", GRAPHQL_INTROSPECTION: "false" }).graphiql).toBeUndefined();
  });
});

describe("the built explorer", () => {
  it("says what to run when GraphiQL is not built, or the folder holds something else", async () => {
    const empty = await mkdtemp(join(tmpdir(), "explorer-"));
    expect(loadBuiltExplorer(empty)).toMatch(/^GraphiQL is not built \(.*index\.html is missing\): run `npm run build:explorer`$/);
    await writeFile(join(empty, "index.html"), "<html></html>");
    expect(loadBuiltExplorer(empty)).toMatch(/is not GraphiQL as `npm run build:explorer` builds it$/);
  });

  it("writes its settings as JSON no text in them can break out of (a `</script>`, a comment, `$&`)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "explorer-"));
    await writeFile(join(dir, "index.html"), PAGE);
    const explorer = loadBuiltExplorer(dir);
    if (typeof explorer === "string") throw new Error(explorer);
    const hostile = "</script><script>alert(1)</script><!-- $& $1";
    const html = explorerPage(explorer, { query: hostile, variables: { id: hostile } });

    expect(html).not.toContain("</script><script>");
    expect(html).not.toContain("<!--");
    expect(html.match(/<\/script>/g)).toHaveLength(1);
    const json = /id="explorer-settings">(.*)<\/script>/.exec(html)?.[1] ?? "";
    expect(JSON.parse(json)).toEqual({ query: hostile, variables: { id: hostile } });
  });
});
