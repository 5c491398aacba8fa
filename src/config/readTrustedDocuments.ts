import { readFileSync } from "node:fs";
import { invalidListedDocument, parseManifest, sha256Hex, type TrustedDocuments } from "../server/admission/trustedDocuments.js";
import { buildSchema } from "../server/buildSchema.js";
import { ConfigError } from "./ConfigError.js";
import { readText, setting, type Env } from "./env.js";

/**
 * PERSISTED_DOCUMENTS and PERSISTED_DOCUMENTS_MANIFEST: undefined when off. The manifest is read,
 * and each of its documents parsed and validated against the schema, here, once: a start with a
 * manifest that would refuse its own frontends stops with one line naming the operation.
 */
export function readTrustedDocuments(env: Env): TrustedDocuments | undefined {
  const mode = readText(env, "PERSISTED_DOCUMENTS") ?? "off";
  if (mode !== "off" && mode !== "allow" && mode !== "require") throw new ConfigError("PERSISTED_DOCUMENTS", "off, allow or require", mode);
  const path = setting(env, "PERSISTED_DOCUMENTS_MANIFEST");
  if (mode === "off") {
    if (path !== undefined)
      throw new ConfigError("PERSISTED_DOCUMENTS", "allow or require when PERSISTED_DOCUMENTS_MANIFEST is set (or unset the manifest)", mode);
    return undefined;
  }
  if (path === undefined) throw new ConfigError("PERSISTED_DOCUMENTS_MANIFEST", `set when PERSISTED_DOCUMENTS=${mode} (the path of the manifest)`, "unset");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new ConfigError("PERSISTED_DOCUMENTS_MANIFEST", "a readable file", `${path} (${typeof code === "string" ? code : "unreadable"})`);
  }
  const byId = parseManifest(text);
  if (typeof byId === "string")
    throw new ConfigError("PERSISTED_DOCUMENTS_MANIFEST", "an Apollo persisted query manifest or a client preset persisted-documents.json", `${path}: ${byId}`);
  const invalid = invalidListedDocument(byId, buildSchema({ authenticated: false, scopes: {} }));
  if (invalid !== undefined) throw new ConfigError("PERSISTED_DOCUMENTS_MANIFEST", "documents valid against this service's schema", `${path}: ${invalid}`);
  return { mode, byId, bodies: new Set([...byId.values()].map(({ body }) => sha256Hex(body))) };
}
