import type { Clock } from "../lib/Clock.js";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import type { AppFabricCallObserver, CallTrace } from "./callEvents.js";
import {
  BATCH_GET_USER_ACCESS_TASKS_PATH,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_MAX_CONCURRENCY,
  DEFAULT_MAX_QUEUED_CALLS,
  DEFAULT_TIMEOUT_MS,
  START_USER_ACCESS_TASKS_PATH,
} from "./constants.js";
import { createRetryingSender, type RetryingSender } from "./createRetryingSender.js";
import { createPoolSend, type SendHttp } from "./createPoolSend.js";
import { createSignedTransport } from "./createSignedTransport.js";
import { AppFabricTransportError } from "./errors.js";
import type { CallGate } from "./CallGate.js";
import { isRecord } from "../lib/isRecord.js";
import type { BatchGetUserAccessTasksRequest, StartUserAccessTasksRequest, UserAccessResultItem, UserAccessTaskItem } from "./types.js";

export type { AppFabricCallEvent, AppFabricCallObserver, CallTrace } from "./callEvents.js";

export interface AppFabricClientOptions {
  /** Base URL, e.g. `https://appfabric.us-east-1.amazonaws.com` or the emulator's. */
  endpoint: URL;
  /** SigV4 signing region. */
  region: string;
  /** The app bundle every call is made for (one bundle per deployment). */
  appBundleIdentifier: string;
  /**
   * Static credentials or a provider. Providers from `@aws-sdk/credential-providers` cache and
   * refresh on their own, so calling one per request costs nothing after the first resolve.
   */
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** HTTP; by default a keep-alive undici Pool to `endpoint` of `maxConcurrency` connections. Tests pass their own. */
  send?: SendHttp;
  /** Per-attempt timeout covering connect, headers and body. */
  timeoutMs?: number;
  /** Attempts per call, the first included (AWS SDK standard retries). */
  maxAttempts?: number;
  /** Attempts in flight at once in this process; more wait in a queue. */
  maxConcurrency?: number;
  /** Attempts that may wait for a slot; past this a call fails at once with `OverloadedError`. */
  maxQueuedCalls?: number;
  /** Signing clock; injected for deterministic signatures in tests. */
  now?: Clock;
  /** Told when each call starts and ends, for logs and metrics. */
  observer?: AppFabricCallObserver;
  /** The fleet's shared hold after a 429, and its call rate (see `FleetCallGate`). */
  gate?: CallGate;
}

/** Per-call options. */
export interface CallOptions {
  /**
   * The operation's deadline. When it aborts, nothing more is sent for the call: a queued attempt is
   * dropped, an attempt in flight is cancelled, and no retry follows.
   */
  signal?: AbortSignal;
  /** The traced operations the call serves. */
  trace?: CallTrace;
}

/**
 * A minimal AppFabric client: the two operations, each one restJson1 request through the retry
 * layer (`createRetryingSender`) over the signed transport (`createSignedTransport`), and the checks
 * of their answers.
 */
export class AppFabricClient {
  readonly #send: RetryingSender;
  readonly #appBundleIdentifier: string;
  readonly #close: () => Promise<void>;

  constructor(options: AppFabricClientOptions) {
    const maxConcurrency = options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY;
    // A send passed in belongs to its owner, who closes it.
    const http =
      options.send === undefined ? createPoolSend(options.endpoint, { connections: maxConcurrency }) : { send: options.send, close: async () => undefined };
    this.#close = http.close;
    const transport = createSignedTransport({
      endpoint: options.endpoint,
      region: options.region,
      credentials: options.credentials,
      send: http.send,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      now: options.now,
      onClockSkew: (offsetMs) => options.observer?.clockSkewCorrected?.(offsetMs),
    });
    this.#send = createRetryingSender(transport, {
      maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      maxConcurrency,
      maxQueuedCalls: options.maxQueuedCalls ?? DEFAULT_MAX_QUEUED_CALLS,
      observer: options.observer,
      gate: options.gate,
    });
    this.#appBundleIdentifier = options.appBundleIdentifier;
  }

  /** Closes the client's connections to AppFabric once the calls under way have ended. */
  close(): Promise<void> {
    return this.#close();
  }

  /**
   * `BatchGetUserAccessTasks` for 1..50 lower-case task ids. Results come back in no promised order
   * and not necessarily one per id: callers match them by `taskId`.
   */
  async batchGetUserAccessTasks(taskIdList: readonly string[], options: CallOptions = {}): Promise<UserAccessResultItem[]> {
    const payload: BatchGetUserAccessTasksRequest = { appBundleIdentifier: this.#appBundleIdentifier, taskIdList: [...taskIdList] };
    const { body, metadata } = await this.#send({
      operation: "BatchGetUserAccessTasks",
      path: BATCH_GET_USER_ACCESS_TASKS_PATH,
      payload,
      ids: taskIdList.length,
      retry: "all",
      deadline: options.signal,
      trace: options.trace,
    });
    const list = isRecord(body) ? body["userAccessResultsList"] : undefined;
    if (list === undefined) return [];
    if (!Array.isArray(list) || !list.every(isRecord)) {
      throw new AppFabricTransportError("unreadable", "AppFabric's answer has no readable userAccessResultsList", { metadata });
    }
    return list;
  }

  /**
   * `StartUserAccessTasks` for one person: one task per application of the bundle. Not idempotent,
   * so it is retried only when AWS throttled it (refused before doing anything): after a timeout or a
   * 500 the tasks may have started, and a second call would start them again.
   */
  async startUserAccessTasks(email: string, options: CallOptions = {}): Promise<UserAccessTaskItem[]> {
    const payload: StartUserAccessTasksRequest = { appBundleIdentifier: this.#appBundleIdentifier, email };
    const { body, metadata } = await this.#send({
      operation: "StartUserAccessTasks",
      path: START_USER_ACCESS_TASKS_PATH,
      payload,
      ids: 1,
      retry: "throttling",
      deadline: options.signal,
      trace: options.trace,
    });
    const list = isRecord(body) ? body["userAccessTasksList"] : undefined;
    if (list === undefined) return [];
    if (!Array.isArray(list) || !list.every((item) => isRecord(item) && typeof item["app"] === "string" && typeof item["tenantId"] === "string")) {
      throw new AppFabricTransportError("unreadable", "AppFabric's answer has no readable userAccessTasksList", { metadata });
    }
    return list as UserAccessTaskItem[];
  }
}
