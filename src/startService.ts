import type { Clock } from "./lib/Clock.js";
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import type { Logger } from "pino";
import { AppFabricClient } from "./appfabric/AppFabricClient.js";
import { observeAll } from "./appfabric/callEvents.js";
import { defaultEndpoint, MAX_TASK_IDS_PER_BATCH } from "./appfabric/constants.js";
import type { Config } from "./config/loadConfig.js";
import { settingWarnings } from "./config/settingWarnings.js";
import { AppFabricEmulator } from "./emulator/AppFabricEmulator.js";
import { CrossOperationBatcher } from "./loaders/CrossOperationBatcher.js";
import { DirectSource } from "./loaders/DirectSource.js";
import { DEMO_APP_BUNDLE_ARN, DEMO_TASKS, EMULATOR_CREDENTIALS } from "./emulator/demoData.js";
import { createCallObserver } from "./observability/createCallObserver.js";
import { createLogger } from "./observability/createLogger.js";
import { Metrics } from "./observability/Metrics.js";
import { createReadinessCheck } from "./server/createReadinessCheck.js";
import { startServer } from "./server/startServer.js";
import { createWatcher } from "./createWatcher.js";
import type { UserAccessTaskSource } from "./loaders/UserAccessTaskSource.js";
import { startFleet, type Fleet } from "./startFleet.js";
import { openAuditTrail } from "./callers/AuditTrail.js";
import { BudgetedSource } from "./callers/BudgetedSource.js";

export interface ServiceOverrides {
  /** Instead of the default Node provider chain (AWS mode only). */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Instead of a JSON logger at the configured level (tests collect the lines). */
  logger?: Logger;
  /** Human-readable log lines (a terminal on the emulator). */
  prettyLogs?: boolean;
  /** The clock of JWT checks (tests). */
  now?: Clock;
  /** Instead of AUDIT_LOG's destination (tests collect the lines). */
  auditWrite?: (line: string) => void;
}

export interface RunningService {
  url: URL;
  /** Where AppFabric calls go. */
  upstream: { kind: "aws" | "emulator"; endpoint: URL };
  /** Ids the emulator knows (emulator mode only). */
  demoTaskIds: string[];
  logger: Logger;
  stop(): Promise<void>;
}

/**
 * Starts the subgraph for a configuration: against AppFabric (or `APPFABRIC_ENDPOINT`) when an app
 * bundle is configured, else against an embedded emulator on a free loopback port, signing with the
 * emulator's key so that the whole path, SigV4 included, runs as it would against AWS.
 */
export async function startService(config: Config, overrides: ServiceOverrides = {}): Promise<RunningService> {
  const logger = overrides.logger ?? createLogger({ level: config.logLevel, pretty: overrides.prettyLogs ?? false });
  const metrics = new Metrics({ operationNames: config.metricsOperationNames });
  // OpenTelemetry's SDK is loaded only when tracing is configured: off, it costs nothing.
  const tracing = config.tracing === undefined ? undefined : (await import("./observability/tracing.js")).startTracing(config.tracing, logger);
  const emulator =
    config.upstream.kind === "emulator"
      ? await AppFabricEmulator.start({
          region: config.region,
          latencyMs: config.emulator.latencyMs,
          faults: config.emulator.faults,
          // Nobody reads the embedded emulator's call list; keeping it would grow without bound.
          recordCalls: false,
        })
      : undefined;
  const endpoint = emulator?.url ?? (config.upstream.kind === "aws" ? config.upstream.endpoint : undefined) ?? defaultEndpoint(config.region);
  // One provider for signing and readiness: it caches and refreshes credentials itself.
  const credentials = emulator ? EMULATOR_CREDENTIALS : (overrides.credentials ?? fromNodeProviderChain());
  const { timeoutMs, maxAttempts, maxConcurrency, maxQueuedIds } = config.appFabric;
  const appBundleIdentifier = config.upstream.kind === "aws" ? config.upstream.appBundleIdentifier : DEMO_APP_BUNDLE_ARN;
  const fleet = startFleet({
    settings: config.fleet,
    callers: config.callers,
    upstream: { region: config.region, appBundleIdentifier, endpoint },
    maxDocumentBytes: config.limits.router.maxRequestBytes,
    logger,
    metrics,
    now: overrides.now,
  });
  const client = new AppFabricClient({
    endpoint,
    region: config.region,
    appBundleIdentifier,
    credentials,
    gate: fleet.gate,
    timeoutMs,
    maxAttempts,
    maxConcurrency,
    // Per-operation batching queues calls of up to 50 ids; the bound on ids becomes one on calls.
    maxQueuedCalls: Math.ceil(maxQueuedIds / MAX_TASK_IDS_PER_BATCH),
    observer: observeAll([createCallObserver(logger, metrics), tracing?.observer]),
  });
  const demoTaskIds = emulator ? DEMO_TASKS.flatMap((task) => task.taskId ?? []) : [];

  const audit = openAuditTrail(config.audit, { write: overrides.auditWrite, onRecord: (action) => metrics.audited(action) });
  const stopAll = async () => {
    audit.close();
    await client.close();
    await fleet.close();
    await emulator?.close();
    await tracing?.shutdown();
  };
  try {
    const source = composeReadPath(client, config.appFabric, fleet);
    const server = await startServer({
      config,
      source,
      starter: client,
      rules: { scopes: config.auth.scopes ?? {}, budgets: fleet.budgets, audit },
      exampleTaskIds: demoTaskIds,
      logger,
      metrics,
      now: overrides.now,
      startSpan: tracing?.startOperation,
      readiness: createReadinessCheck({ endpoint, credentials, redis: () => fleet.redisState() }),
      persistedQueries: fleet.persistedQueries,
      watcher: createWatcher(config.subscriptions, source, { budgets: fleet.budgets, metrics }),
    });
    for (const warning of settingWarnings(config)) logger.warn(warning);
    return {
      url: server.url,
      upstream: { kind: emulator ? "emulator" : "aws", endpoint },
      demoTaskIds,
      logger,
      stop: async () => {
        await server.stop();
        await stopAll();
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/**
 * The read path under the per-operation loaders: the result cache over each caller's task-id budget
 * over the cross-operation batcher (or, with `APPFABRIC_COALESCE_MS=0`, the client directly). A cache
 * hit costs no call and no budget; misses are charged for what goes on to AppFabric and still share calls.
 */
function composeReadPath(client: AppFabricClient, settings: Config["appFabric"], fleet: Pick<Fleet, "cached" | "budgets">): UserAccessTaskSource {
  const batcher =
    settings.coalesceMs > 0
      ? new CrossOperationBatcher(client, {
          windowMs: settings.coalesceMs,
          maxInFlight: settings.maxConcurrency,
          maxQueuedIds: settings.maxQueuedIds,
          observer: { queueShareRefused: () => fleet.budgets.refused("queue_share") },
        })
      : new DirectSource(client);
  return fleet.cached(new BudgetedSource(batcher, fleet.budgets));
}
