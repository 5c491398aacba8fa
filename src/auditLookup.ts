/**
 * `npm run --silent audit:lookup -- <email> [file]` (or `node dist/auditLookup.js`): the audit
 * trail's lines for one person, answering "who looked up this address, and when?". The address is
 * digested as the service digests it (`emailDigest`, under AUDIT_KEY), and the lines of the file
 * (AUDIT_LOG unless given) whose start carries that digest are printed as they are. Exits 1 when none
 * is found, 2 when it cannot look.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { emailDigest } from "./callers/AuditTrail.js";
import { ConfigError, loadConfig } from "./config/loadConfig.js";

const [email, file] = process.argv.slice(2);
let audit;
try {
  audit = loadConfig(process.env).audit;
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`Configuration error: ${error.message}`);
  process.exit(2);
}
const path = file ?? (typeof audit.destination === "object" ? audit.destination.path : undefined);
if (email === undefined || path === undefined || audit.key === undefined) {
  console.error("Usage: AUDIT_KEY=… npm run --silent audit:lookup -- <email> [audit file] (the file defaults to AUDIT_LOG when it is a path)");
  process.exit(2);
}
const needle = `"emailDigest":"${emailDigest(audit.key, email)}"`;
let found = 0;
for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
  if (!line.includes(needle)) continue;
  found += 1;
  process.stdout.write(`${line}\n`);
}
process.exit(found > 0 ? 0 : 1);
