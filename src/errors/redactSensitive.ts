/**
 * Anything shaped like an address, generously: a local part of plain characters, comments such as
 * `jordan(rivers)` and quoted strings such as `"jordan rivers"`, then `@` and a domain (or an address
 * literal in brackets). Over-redacting a message costs nothing; missing an address leaks it.
 */
const EMAIL = /(?:"(?:[^"\\]|\\.)*"|\((?:[^()\\]|\\.)*\)|[^\s@"(),;:<>[\]])+@(?:\[[^\]\s]*\]|[^\s@"'(),;:<>]+)/g;
const AWS_ACCESS_KEY_ID = /\b(?:AKIA|ASIA)[A-Z0-9]{12,}\b/g;
const SIGNATURE = /\b[0-9a-f]{64}\b/g;

/**
 * Removes what must never reach a client or a log from text AWS wrote: email addresses (AWS may echo
 * a request field), access key ids and signatures. Used on the few AWS messages this service forwards.
 */
export function redactSensitive(text: string): string {
  return text.replace(EMAIL, "[email redacted]").replace(AWS_ACCESS_KEY_ID, "[access key redacted]").replace(SIGNATURE, "[signature redacted]");
}
