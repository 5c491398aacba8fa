import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/loadConfig.js";
import { admitDocument, parseManifest, sha256Hex, type TrustedDocuments } from "../../src/server/admission/trustedDocuments.js";

const LISTED = "query Listed($id: ID!) { userAccessTask(id: $id) { taskId } }";

function manifestFile(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), "manifest-")), "manifest.json");
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

const trusted = (mode: "allow" | "require"): TrustedDocuments => ({
  mode,
  byId: new Map([[sha256Hex(LISTED), { body: LISTED, name: "Listed" }]]),
  bodies: new Set([sha256Hex(LISTED)]),
});

describe("parseManifest", () => {
  it("reads Apollo's persisted query manifest and the client preset's persisted-documents.json alike", () => {
    const apollo = parseManifest(
      JSON.stringify({ format: "apollo-persisted-query-manifest", version: 1, operations: [{ id: "abc", name: "Listed", type: "query", body: LISTED }] }),
    );
    expect(apollo).toEqual(new Map([["abc", { body: LISTED, name: "Listed" }]]));
    expect(parseManifest(JSON.stringify({ abc: LISTED }))).toEqual(new Map([["abc", { body: LISTED }]]));
  });

  it.each([
    ["not json", "not JSON"],
    ["[]", "not a JSON object"],
    ["{}", "no documents"],
    [JSON.stringify({ format: "apollo-persisted-query-manifest", version: 2, operations: [] }), "no documents"],
    [JSON.stringify({ "has space": LISTED }), "entry 1: its id is not a hash (letters, digits, _ . : -, at most 160)"],
    [JSON.stringify({ abc: 42 }), "entry 1 (abc…): its document is not a string"],
    [
      JSON.stringify({
        format: "apollo-persisted-query-manifest",
        version: 1,
        operations: [
          { id: "a", body: LISTED },
          { id: "a", body: LISTED },
        ],
      }),
      "entry 2: id a… is listed twice",
    ],
  ])("says in one line what is wrong with %s", (text, problem) => {
    expect(parseManifest(text)).toBe(problem);
  });
});

describe("admitDocument", () => {
  it("runs a listed id's document whatever text came with it, by documentId (with or without sha256:) or sha256Hash", () => {
    for (const mode of ["allow", "require"] as const) {
      expect(admitDocument(trusted(mode), { documentId: sha256Hex(LISTED) })).toEqual({ kind: "listed", query: LISTED });
      expect(admitDocument(trusted(mode), { documentId: `sha256:${sha256Hex(LISTED)}` })).toEqual({ kind: "listed", query: LISTED });
      expect(admitDocument(trusted(mode), { sha256Hash: sha256Hex(LISTED), query: "{ __typename }" })).toEqual({ kind: "listed", query: LISTED });
    }
  });

  it("in require mode runs only listed text; in allow mode anything but an unknown documentId", () => {
    expect(admitDocument(trusted("require"), { query: LISTED }).kind).toBe("as_sent");
    expect(admitDocument(trusted("require"), { query: "{ __typename }" }).kind).toBe("refused");
    expect(admitDocument(trusted("require"), { sha256Hash: sha256Hex("{ __typename }"), query: "{ __typename }" }).kind).toBe("refused");
    // An id that names nothing listed is refused even beside listed text (found by an outside attack: it reached Apollo's APQ check).
    expect(admitDocument(trusted("require"), { sha256Hash: "0".repeat(64), query: LISTED }).kind).toBe("refused");
    expect(admitDocument(trusted("allow"), { query: "{ __typename }" }).kind).toBe("as_sent");
    expect(admitDocument(trusted("allow"), { sha256Hash: "0".repeat(64) }).kind).toBe("as_sent");
    const unknown = admitDocument(trusted("allow"), { documentId: "0".repeat(64) });
    expect(unknown.kind === "refused" && unknown.error.extensions["code"]).toBe("PERSISTED_QUERY_NOT_IN_LIST");
  });
});

describe("PERSISTED_DOCUMENTS at start", () => {
  it("reads and checks the manifest once", () => {
    const config = loadConfig({ PERSISTED_DOCUMENTS: "require", PERSISTED_DOCUMENTS_MANIFEST: manifestFile({ [sha256Hex(LISTED)]: LISTED }) });
    expect(config.trustedDocuments?.mode).toBe("require");
    expect(config.trustedDocuments?.byId.size).toBe(1);
    expect(loadConfig({}).trustedDocuments).toBeUndefined();
  });

  it.each([
    [{ PERSISTED_DOCUMENTS: "on" }, 'PERSISTED_DOCUMENTS must be off, allow or require; received "on".'],
    [{ PERSISTED_DOCUMENTS: "require" }, "PERSISTED_DOCUMENTS_MANIFEST must be set when PERSISTED_DOCUMENTS=require"],
    [{ PERSISTED_DOCUMENTS_MANIFEST: "/x.json" }, "PERSISTED_DOCUMENTS must be allow or require when PERSISTED_DOCUMENTS_MANIFEST is set"],
    [{ PERSISTED_DOCUMENTS: "allow", PERSISTED_DOCUMENTS_MANIFEST: "/nonexistent/manifest.json" }, '/nonexistent/manifest.json (ENOENT)"'],
    [{ PERSISTED_DOCUMENTS: "allow", PERSISTED_DOCUMENTS_MANIFEST: manifestFile("{") }, ': not JSON".'],
    [
      {
        PERSISTED_DOCUMENTS: "allow",
        PERSISTED_DOCUMENTS_MANIFEST: manifestFile({
          format: "apollo-persisted-query-manifest",
          version: 1,
          operations: [{ id: "a1", name: "Broken", body: "query Broken {" }],
        }),
      },
      "Broken (id a1…) does not parse: Syntax Error",
    ],
    [
      {
        PERSISTED_DOCUMENTS: "allow",
        PERSISTED_DOCUMENTS_MANIFEST: manifestFile({
          format: "apollo-persisted-query-manifest",
          version: 1,
          operations: [{ id: "a2", name: "Stale", body: 'query Stale { userAccessTask(id: "x") { removedField } }' }],
        }),
      },
      'Stale (id a2…) is not valid against the schema: Cannot query field "removedField"',
    ],
  ])("refuses %o with one line", (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
