import { randomUUID } from "node:crypto";
import { ErrorReply, MultiErrorReply } from "@redis/client";
import { decodeCachedResult, encodeCachedResult, MAX_VALUE_BYTES, type CachedResult } from "../loaders/cachedItem.js";
import type { SharedResultStore } from "../loaders/SharedResultStore.js";
import type { RedisLink } from "./RedisLink.js";
import type { ValueSeal } from "./ResultSeal.js";

/**
 * The fleet's result cache in Redis. For task `t`, under the deployment's key space `<scope>`:
 * - `<scope>r:<t>`: the result (`encodeCachedResult`), sealed (`ResultSeal`: encrypted and
 *   authenticated) unless the operator chose plain values, with a TTL;
 * - `<scope>c:<t>`: a claim, `SET NX PX`, held by the replica refreshing a result that went stale, so
 *   that the others serve the stale result for that moment instead of asking AppFabric too.
 *
 * Every method answers `undefined` (or does nothing) when Redis cannot help: the caller then acts
 * as a lone replica.
 */
export class SharedResults implements SharedResultStore {
  readonly #link: RedisLink;
  readonly #scope: string;
  readonly #seal: ValueSeal;
  /** Who holds a claim: this replica (for a human reading Redis; claims are released by key). */
  readonly #replica = randomUUID();

  constructor(link: RedisLink, scope: string, seal: ValueSeal) {
    this.#link = link;
    this.#scope = scope;
    this.#seal = seal;
  }

  /**
   * The stored results, one per id (`undefined` when absent, `"rejected"` when not one this service
   * wrote); `undefined` without Redis. One round trip of `GETRANGE`s, not `MGET`: each value is read up to
   * `MAX_VALUE_BYTES` + 1, so that a huge value planted in Redis costs this process nothing.
   */
  async get(taskIds: readonly string[]): Promise<Array<CachedResult | "rejected" | undefined> | undefined> {
    const raw = await this.#link.run("results", async (client): Promise<unknown[]> => {
      const pipeline = client.multi();
      for (const taskId of taskIds) pipeline.getRange(this.#resultKey(taskId), 0, MAX_VALUE_BYTES);
      try {
        return await pipeline.execAsPipeline();
      } catch (error) {
        // A key of another type (WRONGTYPE) fails only its own command: the others still answer.
        if (error instanceof MultiErrorReply) return error.replies;
        throw error;
      }
    });
    if (raw === undefined) return undefined;
    return raw.map((value, index) => {
      if (value instanceof ErrorReply) return "rejected";
      // GETRANGE answers "" for a missing key; anything else that does not open and decode is junk.
      if (typeof value !== "string" || value === "") return undefined;
      const taskId = taskIds[index] ?? "";
      const cached = value.length > MAX_VALUE_BYTES ? undefined : decodeCachedResult(taskId, this.#seal.open(taskId, value) ?? null);
      return cached ?? "rejected";
    });
  }

  /**
   * Claims the refresh of each id for `ttlMs`: true where this replica got it; `undefined` without
   * Redis. One transaction (MULTI/EXEC), so that a poll of several tasks claims all of them or none
   * against a concurrent poll of the same tasks elsewhere: one call refreshes them together.
   */
  async claim(taskIds: readonly string[], ttlMs: number): Promise<boolean[] | undefined> {
    const replies = await this.#link.run(
      "claims",
      (client) => {
        const transaction = client.multi();
        for (const taskId of taskIds) transaction.set(this.#claimKey(taskId), this.#replica, { condition: "NX", expiration: { type: "PX", value: ttlMs } });
        return transaction.exec();
      },
      { writes: true },
    );
    return replies?.map((reply) => (typeof reply === "object" ? false : String(reply) === "OK"));
  }

  /**
   * Stores fresh results (each with its own TTL) and releases the claims on `released`, in one round
   * trip. Not awaited by callers: the answer does not wait for Redis. With claims to release it is sent
   * even while Redis is marked down (`RedisLink.run`'s `whileDown`).
   */
  async store(results: ReadonlyArray<{ taskId: string; cached: CachedResult; ttlMs: number }>, released: readonly string[]): Promise<void> {
    if (results.length === 0 && released.length === 0) return;
    await this.#link.run(
      "results",
      (client) => {
        const pipeline = client.multi();
        for (const { taskId, cached, ttlMs } of results) {
          pipeline.set(this.#resultKey(taskId), this.#seal.seal(taskId, encodeCachedResult(taskId, cached)), {
            expiration: { type: "PX", value: Math.max(1, Math.ceil(ttlMs)) },
          });
        }
        if (released.length > 0) pipeline.del(released.map((taskId) => this.#claimKey(taskId)));
        return pipeline.execAsPipeline();
      },
      // Replicas waiting under these claims get the results (or ask themselves) only once this arrives.
      { writes: true, whileDown: released.length > 0 },
    );
  }

  /** `count` results read were not ones this service writes (see `CachedSource`): counted. */
  rejected(count: number): void {
    this.#link.rejected("results", count);
  }

  #resultKey(taskId: string): string {
    return `${this.#scope}r:${taskId}`;
  }

  #claimKey(taskId: string): string {
    return `${this.#scope}c:${taskId}`;
  }
}
