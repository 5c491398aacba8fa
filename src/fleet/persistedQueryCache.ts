import { KeyvAdapter } from "@apollo/utils.keyvadapter";
import { InMemoryLRUCache, type KeyValueCache, type KeyValueCacheSetOptions } from "@apollo/utils.keyvaluecache";
import { createHash } from "node:crypto";
import KeyvRedis from "@keyv/redis";
import Keyv from "keyv";
import type { Keyv as CommonJsKeyv } from "keyv" with { "resolution-mode": "require" };
import { FleetRate } from "./FleetRate.js";
import type { RedisLink } from "./RedisLink.js";

/** Apollo's own default size for the in-memory APQ cache (about 30 MB of documents). */
const MEMORY_BYTES = 30 * 1024 * 1024;
/** How long a persisted document is kept (Apollo's `persistedQueries.ttl`), in Redis and in memory. */
export const PERSISTED_QUERY_TTL_S = 3_600;
/** The window of the fleet's allowance of bytes written to the APQ namespace. */
const ALLOWANCE_WINDOW_MS = 60_000;

/** What the store reports (metrics implement it): a document kept in this replica only (the fleet's allowance was used up). */
export interface PersistedQueryObserver {
  persistedLocally(): void;
}

/**
 * Apollo Server's automatic persisted queries, shared by the fleet: Apollo's `KeyvAdapter` over Keyv
 * with `@keyv/redis` (Apollo's documented way), on the replica's Redis connection, under
 * `<keyPrefix>apq:<sha256>`. Each replica also keeps the documents in memory (Apollo's `InMemoryLRUCache`), so
 * a hash it has seen answers without Redis, and with Redis down it works as a lone replica: a hash
 * registered elsewhere is then not found, and the client sends the document again (APQ's own answer
 * to a miss, `PERSISTED_QUERY_NOT_FOUND`).
 *
 * The namespace is bounded: the fleet writes at most `maxBytes` × 60 s / TTL bytes of documents to it
 * per minute (through Redis, for every replica together), so what it holds, each document kept for
 * PERSISTED_QUERY_TTL_S, never passes `maxBytes`. A document past the minute's allowance is kept in
 * this replica's memory only (counted): the other replicas do not find it, and its client sends it again.
 */
export function persistedQueryCache(
  link: RedisLink,
  keyPrefix: string,
  maxDocumentBytes: number,
  maxBytes: number,
  observer: PersistedQueryObserver,
): KeyValueCache<string> {
  const allowance = new FleetRate({
    points: Math.max(1, Math.floor((maxBytes * ALLOWANCE_WINDOW_MS) / (PERSISTED_QUERY_TTL_S * 1_000))),
    durationMs: ALLOWANCE_WINDOW_MS,
    redis: { link, keyPrefix: `${keyPrefix}apq-bytes`, use: "apq" },
  });
  const memory = new InMemoryLRUCache<string>({ maxSize: MEMORY_BYTES });
  const store = new KeyvRedis<string>(link.client, { keyPrefixSeparator: ":", throwOnErrors: true, throwOnConnectError: true });
  // Keyv gives the store its namespace; Apollo's keys are `apq:<sha256>`: `<prefix>apq:<sha256>` in Redis.
  const namespace = keyPrefix.replace(/:$/, "");
  const keyv = new Keyv<string>({ store, namespace, useKeyPrefix: false, throwOnErrors: true });
  // The adapter is CommonJS and names keyv's CommonJS declarations; this is the ES module build of the
  // same class, which it uses only through its methods (get, set, delete).
  const shared = new KeyvAdapter<string>(keyv as unknown as CommonJsKeyv<string>);
  return {
    async get(key: string): Promise<string | undefined> {
      const local = await memory.get(key);
      if (local !== undefined) return local;
      // A document longer than any request may carry was not registered through a request: its
      // length is asked first, so that it is never read into memory.
      const length = await link.run("apq", (client) => client.strLen(`${namespace}:${key}`));
      if (length === undefined || length === 0) return undefined;
      // Keyv stores `{"value":<the document as a JSON string>,"expires":…}`: escaping at most doubles it.
      if (length > 2 * maxDocumentBytes + 64) {
        link.rejected("apq", 1);
        return undefined;
      }
      const found = await link.run("apq", () => shared.get(key));
      // Apollo checks a document against its hash when it is registered, not when it is read back:
      // a document from Redis is used only if it still hashes to its key.
      if (typeof found !== "string" || !matchesHash(key, found)) {
        if (found !== undefined) link.rejected("apq", 1);
        return undefined;
      }
      await memory.set(key, found);
      return found;
    },
    async set(key: string, value: string, options?: KeyValueCacheSetOptions): Promise<void> {
      await memory.set(key, value, options);
      if ((await allowance.take("fleet", Buffer.byteLength(value))) > 0) return observer.persistedLocally();
      // Not awaited by the answer beyond Redis's timeout: `run` bounds it.
      await link.run("apq", () => shared.set(key, value, options), { writes: true });
    },
    async delete(key: string): Promise<boolean | void> {
      await memory.delete(key);
      await link.run("apq", () => shared.delete(key));
    },
  };
}

/** Whether `document` is the one its key (`apq:<sha256 hex>`, as Apollo names it) was registered for. */
function matchesHash(key: string, document: string): boolean {
  const hash = /^apq:([0-9a-f]{64})$/.exec(key)?.[1];
  return hash !== undefined && createHash("sha256").update(document).digest("hex") === hash;
}
