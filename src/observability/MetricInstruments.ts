import { Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * The instruments of the service's metrics, declared in one place on a registry of their own (names,
 * help texts, labels and buckets: what `/metrics` serves); `Metrics` writes them. The gauges read when
 * scraped live in `Metrics`, beside what they read.
 */
export class MetricInstruments {
  readonly registry = new Registry();

  readonly operations = new Counter({
    name: "graphql_operations_total",
    help: "GraphQL operations answered, by operation name and outcome (ok, partial, error, or abandoned: the caller hung up first).",
    labelNames: ["operation_name", "outcome"] as const,
    registers: [this.registry],
  });
  readonly operationTaskIds = new Histogram({
    name: "graphql_operation_task_ids",
    help: "Distinct task ids one GraphQL operation loaded.",
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
    registers: [this.registry],
  });
  readonly calls = new Counter({
    name: "appfabric_calls_total",
    help: "AppFabric calls, by operation and status (an HTTP status, or timeout, connection, unreadable, credentials).",
    labelNames: ["operation", "status"] as const,
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: "appfabric_batch_size",
    help: "Task ids per AppFabric call (one DataLoader batch, at most 50).",
    labelNames: ["operation"] as const,
    buckets: [1, 2, 5, 10, 20, 30, 40, 50],
    registers: [this.registry],
  });
  readonly callDuration = new Histogram({
    name: "appfabric_call_duration_seconds",
    help: "AppFabric call latency, from signing to the last byte of the answer.",
    labelNames: ["operation"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly retries = new Counter({
    name: "appfabric_retries_total",
    help: "AppFabric calls that were attempts after the first.",
    labelNames: ["operation"] as const,
    registers: [this.registry],
  });
  readonly throttles = new Counter({
    name: "appfabric_throttles_total",
    help: "AppFabric answers that were throttling (HTTP 429).",
    labelNames: ["operation"] as const,
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: "appfabric_calls_in_flight",
    help: "AppFabric calls under way now.",
    labelNames: ["operation"] as const,
    registers: [this.registry],
  });
  readonly refused = new Counter({
    name: "http_requests_refused_total",
    help: "Requests refused before or instead of running (HTTP 4xx, and 503 when the identity provider is down), by reason.",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly jwksFailures = new Counter({
    name: "auth_jwks_fetch_failures_total",
    help: "Failed fetches of the identity provider's key set (AUTH_JWKS_URL), by reason.",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly webSockets = new Gauge({
    name: "websocket_connections",
    help: "WebSocket (graphql-ws) connections open now.",
    registers: [this.registry],
  });
  readonly subscriptions = new Counter({
    name: "graphql_subscriptions_total",
    help: "Subscriptions ended, by outcome (completed, cancelled, closed, expired, error).",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly activeSubscriptions = new Gauge({
    name: "graphql_subscriptions_active",
    help: "Subscriptions running now.",
    registers: [this.registry],
  });
  readonly subscriptionEvents = new Counter({
    name: "graphql_subscription_events_total",
    help: "Snapshots sent to subscribers.",
    registers: [this.registry],
  });
  readonly polls = new Counter({
    name: "watcher_polls_total",
    help: "Polls of the subscription watcher (each asks AppFabric, through the batcher, for every watched id that can still change).",
    registers: [this.registry],
  });
  readonly idsPerPoll = new Histogram({
    name: "watcher_poll_task_ids",
    help: "Task ids one poll of the subscription watcher asked for.",
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000],
    registers: [this.registry],
  });
  readonly cacheLookups = new Counter({
    name: "result_cache_lookups_total",
    help: "Task ids looked up in the result cache, by outcome: local (this replica's memory), shared (Redis), stale (served while another replica refreshes it), miss (asked of AppFabric).",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly redisRoundTrips = new Counter({
    name: "redis_round_trips_total",
    help: "Round trips to Redis, by use (results, claims, throttle, rate, apq).",
    labelNames: ["use"] as const,
    registers: [this.registry],
  });
  readonly redisFallbacks = new Counter({
    name: "redis_fallbacks_total",
    help: "Uses of Redis served by this replica alone instead (Redis down, slow or failing), by use.",
    labelNames: ["use"] as const,
    registers: [this.registry],
  });
  readonly redisRejected = new Counter({
    name: "redis_rejected_values_total",
    help: "Values read from Redis that this service did not write (junk, oversized, another key's value, a time out of bounds), ignored, by use.",
    labelNames: ["use"] as const,
    registers: [this.registry],
  });
  readonly heldCalls = new Counter({
    name: "appfabric_held_calls_total",
    help: "AppFabric attempts held back by the fleet, by reason (throttled: a 429 at any replica; rate: APPFABRIC_MAX_CALLS_PER_SECOND) and outcome (waited, refused).",
    labelNames: ["reason", "outcome"] as const,
    registers: [this.registry],
  });
  readonly callerLimited = new Counter({
    name: "caller_budget_refusals_total",
    help: "Work refused because one caller used up its share (RATE_LIMITED: task_ids, starts, queue_share, watched_ids; persisted_bytes: a document run but not persisted); never labelled by caller.",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly persistedLocally = new Counter({
    name: "persisted_queries_not_shared_total",
    help: "Persisted documents kept in this replica's memory only: the fleet's PERSISTED_QUERIES_MAX_BYTES allowance for this minute was used up.",
    registers: [this.registry],
  });
  readonly audited = new Counter({
    name: "audit_records_total",
    help: "Lines written to the audit trail (AUDIT_LOG), by action (start, read).",
    labelNames: ["action"] as const,
    registers: [this.registry],
  });
}
