import type { BudgetReason } from "../errors/RateLimitedError.js";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { AppFabricCallEvent } from "../appfabric/AppFabricClient.js";

/**
 * The service's Prometheus metrics, on a registry of its own (so two services in one process, as in
 * tests, do not collide). Served at `/metrics` with Node's default process metrics.
 *
 * No label value comes from a caller: operation names are client-chosen text, so only the names the
 * operator listed (`METRICS_OPERATION_NAMES`) get their own value, and refusal reasons are fixed words.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #operationNames: ReadonlySet<string>;

  readonly #operations = new Counter({
    name: "graphql_operations_total",
    help: "GraphQL operations answered, by operation name and outcome (ok, partial, error, or abandoned: the caller hung up first).",
    labelNames: ["operation_name", "outcome"] as const,
    registers: [this.registry],
  });
  readonly #operationTaskIds = new Histogram({
    name: "graphql_operation_task_ids",
    help: "Distinct task ids one GraphQL operation loaded.",
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
    registers: [this.registry],
  });
  readonly #calls = new Counter({
    name: "appfabric_calls_total",
    help: "AppFabric calls, by operation and status (an HTTP status, or timeout, connection, unreadable, credentials).",
    labelNames: ["operation", "status"] as const,
    registers: [this.registry],
  });
  readonly #batchSize = new Histogram({
    name: "appfabric_batch_size",
    help: "Task ids per AppFabric call (one DataLoader batch, at most 50).",
    labelNames: ["operation"] as const,
    buckets: [1, 2, 5, 10, 20, 30, 40, 50],
    registers: [this.registry],
  });
  readonly #callDuration = new Histogram({
    name: "appfabric_call_duration_seconds",
    help: "AppFabric call latency, from signing to the last byte of the answer.",
    labelNames: ["operation"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly #retries = new Counter({
    name: "appfabric_retries_total",
    help: "AppFabric calls that were attempts after the first.",
    labelNames: ["operation"] as const,
    registers: [this.registry],
  });
  readonly #throttles = new Counter({
    name: "appfabric_throttles_total",
    help: "AppFabric answers that were throttling (HTTP 429).",
    labelNames: ["operation"] as const,
    registers: [this.registry],
  });
  readonly #inFlight = new Gauge({
    name: "appfabric_calls_in_flight",
    help: "AppFabric calls under way now.",
    labelNames: ["operation"] as const,
    registers: [this.registry],
  });

  readonly #refused = new Counter({
    name: "http_requests_refused_total",
    help: "Requests refused before or instead of running (HTTP 4xx, and 503 when the identity provider is down), by reason.",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly #jwksFailures = new Counter({
    name: "auth_jwks_fetch_failures_total",
    help: "Failed fetches of the identity provider's key set (AUTH_JWKS_URL), by reason.",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });

  readonly #webSockets = new Gauge({
    name: "websocket_connections",
    help: "WebSocket (graphql-ws) connections open now.",
    registers: [this.registry],
  });
  readonly #subscriptions = new Counter({
    name: "graphql_subscriptions_total",
    help: "Subscriptions ended, by outcome (completed, cancelled, closed, expired, error).",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly #activeSubscriptions = new Gauge({
    name: "graphql_subscriptions_active",
    help: "Subscriptions running now.",
    registers: [this.registry],
  });
  readonly #subscriptionEvents = new Counter({
    name: "graphql_subscription_events_total",
    help: "Snapshots sent to subscribers.",
    registers: [this.registry],
  });
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
  readonly #polls = new Counter({
    name: "watcher_polls_total",
    help: "Polls of the subscription watcher (each asks AppFabric, through the batcher, for every watched id that can still change).",
    registers: [this.registry],
  });
  readonly #idsPerPoll = new Histogram({
    name: "watcher_poll_task_ids",
    help: "Task ids one poll of the subscription watcher asked for.",
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000],
    registers: [this.registry],
  });

  readonly #cacheLookups = new Counter({
    name: "result_cache_lookups_total",
    help: "Task ids looked up in the result cache, by outcome: local (this replica's memory), shared (Redis), stale (served while another replica refreshes it), miss (asked of AppFabric).",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
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
  readonly #redisRoundTrips = new Counter({
    name: "redis_round_trips_total",
    help: "Round trips to Redis, by use (results, claims, throttle, rate, apq).",
    labelNames: ["use"] as const,
    registers: [this.registry],
  });
  readonly #redisFallbacks = new Counter({
    name: "redis_fallbacks_total",
    help: "Uses of Redis served by this replica alone instead (Redis down, slow or failing), by use.",
    labelNames: ["use"] as const,
    registers: [this.registry],
  });
  readonly #redisRejected = new Counter({
    name: "redis_rejected_values_total",
    help: "Values read from Redis that this service did not write (junk, oversized, another key's value, a time out of bounds), ignored, by use.",
    labelNames: ["use"] as const,
    registers: [this.registry],
  });
  readonly #heldCalls = new Counter({
    name: "appfabric_held_calls_total",
    help: "AppFabric attempts held back by the fleet, by reason (throttled: a 429 at any replica; rate: APPFABRIC_MAX_CALLS_PER_SECOND) and outcome (waited, refused).",
    labelNames: ["reason", "outcome"] as const,
    registers: [this.registry],
  });

  readonly #callerLimited = new Counter({
    name: "caller_budget_refusals_total",
    help: "Work refused because one caller used up its share (RATE_LIMITED: task_ids, starts, queue_share, watched_ids; persisted_bytes: a document run but not persisted); never labelled by caller.",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly #persistedLocally = new Counter({
    name: "persisted_queries_not_shared_total",
    help: "Persisted documents kept in this replica's memory only: the fleet's PERSISTED_QUERIES_MAX_BYTES allowance for this minute was used up.",
    registers: [this.registry],
  });
  readonly #audited = new Counter({
    name: "audit_records_total",
    help: "Lines written to the audit trail (AUDIT_LOG), by action (start, read).",
    labelNames: ["action"] as const,
    registers: [this.registry],
  });

  constructor(options: { operationNames?: readonly string[] } = {}) {
    this.#operationNames = new Set(options.operationNames ?? []);
    collectDefaultMetrics({ register: this.registry });
  }

  /** A request was refused; `reason` is one of this service's fixed words, never client text. */
  requestRefused(reason: string): void {
    this.#refused.inc({ reason });
  }

  /** A fetch of the JWKS failed (counted once per fetch, not per request). */
  jwksFetchFailed(reason: string): void {
    this.#jwksFailures.inc({ reason });
  }

  /** A call is about to be sent. */
  callStarted(operation: AppFabricCallEvent["operation"]): void {
    this.#inFlight.inc({ operation });
  }

  /** A call ended; pairs with `callStarted`. */
  callEnded(event: AppFabricCallEvent): void {
    const { operation } = event;
    this.#inFlight.dec({ operation });
    this.#calls.inc({ operation, status: String(event.outcome) });
    this.#batchSize.observe({ operation }, event.ids);
    this.#callDuration.observe({ operation }, event.durationMs / 1000);
    if (event.attempt > 1) this.#retries.inc({ operation });
    if (event.outcome === 429) this.#throttles.inc({ operation });
  }

  /** An operation was answered. */
  operationAnswered(operationName: string | undefined, outcome: "ok" | "partial" | "error" | "abandoned", taskIds: number): void {
    this.#operations.inc({ operation_name: this.#operationNameLabel(operationName), outcome });
    if (taskIds > 0) this.#operationTaskIds.observe(taskIds);
  }

  /** A WebSocket connection opened (+1) or closed (-1). */
  webSocketsChanged(delta: 1 | -1): void {
    this.#webSockets.inc(delta);
  }

  /** A subscription started. */
  subscriptionStarted(): void {
    this.#activeSubscriptions.inc();
  }

  /** A subscription ended; pairs with `subscriptionStarted`. */
  subscriptionEnded(outcome: string, events: number): void {
    this.#activeSubscriptions.dec();
    this.#subscriptions.inc({ outcome });
    this.#subscriptionEvents.inc(events);
  }

  /** The watcher polled `ids` task ids. */
  watcherPolled(ids: number): void {
    this.#polls.inc();
    this.#idsPerPoll.observe(ids);
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
    if (ids > 0) this.#cacheLookups.inc({ outcome }, ids);
  }

  /** Where `redis_up` is read from at each scrape. */
  observeRedis(state: () => string): void {
    this.#redisStateNow = state;
  }

  redisRoundTrip(use: string): void {
    this.#redisRoundTrips.inc({ use });
  }

  redisValuesRejected(use: string, count: number): void {
    this.#redisRejected.inc({ use }, count);
  }

  redisFallback(use: string): void {
    this.#redisFallbacks.inc({ use });
  }

  /** An attempt was held back (and waited) or refused because of a fleet-wide hold. */
  callHeld(reason: "throttled" | "rate", outcome: "waited" | "refused"): void {
    this.#heldCalls.inc({ reason, outcome });
  }

  /** One caller's budget was used up; `reason` names the budget, never the caller. */
  callerLimited(reason: BudgetReason): void {
    this.#callerLimited.inc({ reason });
  }

  /** A persisted document was kept in this replica only (the fleet's allowance for Redis was used up). */
  persistedLocally(): void {
    this.#persistedLocally.inc();
  }

  /** An audit line was written. */
  audited(action: "start" | "read"): void {
    this.#audited.inc({ action });
  }

  /** Bounded by configuration, not by callers: a name not listed is `(other)`, whoever sends it. */
  #operationNameLabel(name: string | undefined): string {
    if (!name) return "(anonymous)";
    return this.#operationNames.has(name) ? name : "(other)";
  }
}
