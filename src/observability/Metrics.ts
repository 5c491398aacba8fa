import type { BudgetReason } from "../errors/RateLimitedError.js";
import { collectDefaultMetrics, Gauge, type Registry } from "prom-client";
import { MetricInstruments } from "./MetricInstruments.js";
import type { AppFabricCallEvent } from "../appfabric/AppFabricClient.js";

/**
 * The service's Prometheus metrics, on a registry of its own (so two services in one process, as in
 * tests, do not collide). Served at `/metrics` with Node's default process metrics.
 *
 * No label value comes from a caller: operation names are client-chosen text, so only the names the
 * operator listed (`METRICS_OPERATION_NAMES`) get their own value, and refusal reasons are fixed words.
 */
export class Metrics {
  readonly #m = new MetricInstruments();
  readonly registry: Registry = this.#m.registry;
  readonly #operationNames: ReadonlySet<string>;

  /** Read from the watcher when scraped (see `observeWatcher`), not pushed on every change. */
  #watchedIdsNow: () => number = () => 0;
  readonly #watchedIds: Gauge = new Gauge({
    name: "watcher_task_ids",
    help: "Distinct task ids the subscription watcher watches now.",
    registers: [this.registry],
    collect: (): void => this.#watchedIds.set(this.#watchedIdsNow()),
  });
  #pendingBytesNow: () => number = () => 0;
  readonly #pendingBytes: Gauge = new Gauge({
    name: "websocket_pending_bytes",
    help: "Bytes of messages handed to WebSocket connections and not yet written out, all connections together (bounded by WEBSOCKET_MAX_PENDING_BYTES).",
    registers: [this.registry],
    collect: (): void => this.#pendingBytes.set(this.#pendingBytesNow()),
  });

  /** Read from the Redis link when scraped. */
  #redisStateNow: () => string = () => "off";
  readonly #redisUp: Gauge = new Gauge({
    name: "redis_up",
    help: "1 while this replica shares through Redis, 0 while it works alone (Redis down, slow or still connecting). Absent without REDIS_URL.",
    registers: [this.registry],
    collect: (): void => {
      const state = this.#redisStateNow();
      if (state !== "off") this.#redisUp.set(state === "up" ? 1 : 0);
    },
  });

  constructor(options: { operationNames?: readonly string[] } = {}) {
    this.#operationNames = new Set(options.operationNames ?? []);
    collectDefaultMetrics({ register: this.registry });
  }

  /** A request was refused; `reason` is one of this service's fixed words, never client text. */
  requestRefused(reason: string): void {
    this.#m.refused.inc({ reason });
  }

  /** A fetch of the JWKS failed (counted once per fetch, not per request). */
  jwksFetchFailed(reason: string): void {
    this.#m.jwksFailures.inc({ reason });
  }

  /** A call is about to be sent. */
  callStarted(operation: AppFabricCallEvent["operation"]): void {
    this.#m.inFlight.inc({ operation });
  }

  /** A call ended; pairs with `callStarted`. */
  callEnded(event: AppFabricCallEvent): void {
    const { operation } = event;
    this.#m.inFlight.dec({ operation });
    this.#m.calls.inc({ operation, status: String(event.outcome) });
    this.#m.batchSize.observe({ operation }, event.ids);
    this.#m.callDuration.observe({ operation }, event.durationMs / 1000);
    if (event.attempt > 1) this.#m.retries.inc({ operation });
    if (event.outcome === 429) this.#m.throttles.inc({ operation });
  }

  /** An operation was answered. */
  operationAnswered(operationName: string | undefined, outcome: "ok" | "partial" | "error" | "abandoned", taskIds: number): void {
    this.#m.operations.inc({ operation_name: this.#operationNameLabel(operationName), outcome });
    if (taskIds > 0) this.#m.operationTaskIds.observe(taskIds);
  }

  /** A WebSocket connection opened (+1) or closed (-1). */
  webSocketsChanged(delta: 1 | -1): void {
    this.#m.webSockets.inc(delta);
  }

  /** A subscription started. */
  subscriptionStarted(): void {
    this.#m.activeSubscriptions.inc();
  }

  /** A subscription ended; pairs with `subscriptionStarted`. */
  subscriptionEnded(outcome: string, events: number): void {
    this.#m.activeSubscriptions.dec();
    this.#m.subscriptions.inc({ outcome });
    this.#m.subscriptionEvents.inc(events);
  }

  /** The watcher polled `ids` task ids. */
  watcherPolled(ids: number): void {
    this.#m.polls.inc();
    this.#m.idsPerPoll.observe(ids);
  }

  /** Where `watcher_task_ids` is read from at each scrape. */
  observeWatcher(watchedIds: () => number): void {
    this.#watchedIdsNow = watchedIds;
  }

  /** Reads what WebSocket connections hold for their clients when scraped. */
  observeWebSocketPending(bytes: () => number): void {
    this.#pendingBytesNow = bytes;
  }

  /** `ids` task ids were looked up in the result cache with this outcome. */
  cacheLookedUp(outcome: "local" | "shared" | "stale" | "awaited" | "miss", ids: number): void {
    if (ids > 0) this.#m.cacheLookups.inc({ outcome }, ids);
  }

  /** Where `redis_up` is read from at each scrape. */
  observeRedis(state: () => string): void {
    this.#redisStateNow = state;
  }

  redisRoundTrip(use: string): void {
    this.#m.redisRoundTrips.inc({ use });
  }

  redisValuesRejected(use: string, count: number): void {
    this.#m.redisRejected.inc({ use }, count);
  }

  redisFallback(use: string): void {
    this.#m.redisFallbacks.inc({ use });
  }

  /** An attempt was held back (and waited) or refused because of a fleet-wide hold. */
  callHeld(reason: "throttled" | "rate", outcome: "waited" | "refused"): void {
    this.#m.heldCalls.inc({ reason, outcome });
  }

  /** One caller's budget was used up; `reason` names the budget, never the caller. */
  callerLimited(reason: BudgetReason): void {
    this.#m.callerLimited.inc({ reason });
  }

  /** A persisted document was kept in this replica only (the fleet's allowance for Redis was used up). */
  persistedLocally(): void {
    this.#m.persistedLocally.inc();
  }

  /** An audit line was written. */
  audited(action: "start" | "read"): void {
    this.#m.audited.inc({ action });
  }

  /** Bounded by configuration, not by callers: a name not listed is `(other)`, whoever sends it. */
  #operationNameLabel(name: string | undefined): string {
    if (!name) return "(anonymous)";
    return this.#operationNames.has(name) ? name : "(other)";
  }
}
