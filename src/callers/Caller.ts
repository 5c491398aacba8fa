import { createHash } from "node:crypto";
import type { JWTPayload } from "jose";

/**
 * Who is calling, computed once per request or WebSocket connection from what authenticated it, and
 * used by every rule that depends on the caller: scopes, budgets and the audit trail.
 *
 * - `jwt`: the token's `iss` and `sub` (JWT authentication on; `sub` is then required), and its scopes;
 * - `router`: a router-secret-only deployment cannot tell the router's users apart (put the JWT check
 *   on, and have the router forward the user's token, to tell them apart);
 * - `address`: nothing authenticates requests (development): the client's address.
 */
export type Caller =
  | { kind: "jwt"; key: string; iss: string; sub: string; scopes: ReadonlySet<string> }
  | { kind: "router"; key: string; scopes: ReadonlySet<string> }
  | { kind: "address"; key: string; address: string; scopes: ReadonlySet<string> };

const NO_SCOPES: ReadonlySet<string> = new Set();

/**
 * The key budgets are kept under, in memory and in Redis: 24 hex digits of SHA-256 over the identity,
 * so that no subject or address is ever a key name (or a metric label: callers are never one).
 */
function keyOf(kind: Caller["kind"], ...parts: string[]): string {
  return createHash("sha256")
    .update([kind, ...parts].join("\n"))
    .digest("hex")
    .slice(0, 24);
}

export function jwtCaller(payload: JWTPayload): Caller {
  const iss = payload.iss ?? "";
  const sub = payload.sub ?? "";
  return { kind: "jwt", key: keyOf("jwt", iss, sub), iss, sub, scopes: scopesOf(payload) };
}

export const ROUTER_CALLER: Caller = { kind: "router", key: keyOf("router"), scopes: NO_SCOPES };

export function addressCaller(address: string | undefined): Caller {
  const shown = address ?? "unknown";
  return { kind: "address", key: keyOf("address", shown), address: shown, scopes: NO_SCOPES };
}

/**
 * The scopes a token grants: OAuth's `scope` claim (RFC 8693, a space-separated string), or `scp`,
 * which identity providers write either as an array of strings (Okta) or as such a string (Entra ID).
 */
export function scopesOf(payload: JWTPayload): ReadonlySet<string> {
  const scopes = new Set<string>();
  for (const claim of [payload["scope"], payload["scp"]]) {
    const values = typeof claim === "string" ? claim.split(" ") : Array.isArray(claim) ? claim : [];
    for (const value of values) if (typeof value === "string" && value !== "") scopes.add(value);
  }
  return scopes;
}

/** The caller as the audit trail names it: who, never how (no token, no scopes). */
export function auditedCaller(caller: Caller): Record<string, string> {
  switch (caller.kind) {
    case "jwt":
      return { iss: caller.iss, sub: caller.sub };
    case "router":
      return { router: "router-secret" };
    case "address":
      return { address: caller.address };
  }
}
