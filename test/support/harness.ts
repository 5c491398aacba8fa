import type { AwsCredentialIdentity } from "@smithy/types";
import type { Logger } from "pino";
import type { Config } from "../../src/config/loadConfig.js";
import { AppFabricEmulator, type EmulatorOptions } from "../../src/emulator/AppFabricEmulator.js";
import { DEMO_APP_BUNDLE_ARN, EMULATOR_CREDENTIALS } from "../../src/emulator/demoData.js";
import { syntheticTasks } from "../fixtures/syntheticTasks.js";
import { startService, type RunningService } from "../../src/startService.js";
import { testConfig } from "./testConfig.js";

/** The response of one GraphQL request, as a client reads it. */
export interface GraphQLResponse<TData = Record<string, unknown>> {
  status: number;
  data?: TData | null;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }>;
  /** The raw body, for asserting on what never appears in it. */
  text: string;
}

export interface Harness {
  emulator: AppFabricEmulator;
  service: RunningService;
  query<TData = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<TData>>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  emulator?: EmulatorOptions;
  /** The bundle the service is configured with. Default: the emulator's demo bundle. */
  appBundleIdentifier?: string;
  /** What the service signs with. Default: the key the emulator accepts. */
  credentials?: AwsCredentialIdentity;
  /** Client settings; the service's defaults otherwise. */
  appFabric?: Partial<Config["appFabric"]>;
  /** Any other settings. */
  config?: Partial<Config>;
  /** Instead of silence: a logger whose lines the test reads. */
  logger?: Logger;
  /** The clock of JWT checks. */
  now?: () => number;
  /** Where the audit trail's lines go (collected by the test). */
  auditWrite?: (line: string) => void;
  /** Where the service sends AppFabric calls instead of the emulator (e.g. a port nobody listens on). */
  endpoint?: URL;
}

/** 150 synthetic tasks: enough for three calls of 50 and some left unasked. */
export const TASK_COUNT = 150;

/**
 * The emulator on one ephemeral loopback port and the service, configured as for real AWS with
 * `APPFABRIC_ENDPOINT` pointing at the emulator, on another.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const config = testConfig();
  const emulator = await AppFabricEmulator.start({ tasks: syntheticTasks(TASK_COUNT), ...options.emulator });
  const service = await startService(
    {
      ...config,
      ...options.config,
      upstream: { kind: "aws", appBundleIdentifier: options.appBundleIdentifier ?? DEMO_APP_BUNDLE_ARN, endpoint: options.endpoint ?? emulator.url },
      appFabric: { ...config.appFabric, ...options.appFabric },
    },
    { credentials: options.credentials ?? EMULATOR_CREDENTIALS, logger: options.logger, now: options.now, auditWrite: options.auditWrite },
  );
  return {
    emulator,
    service,
    query: (query, variables) => postGraphQL(service.url, query, variables),
    close: async () => {
      await service.stop();
      await emulator.close();
    },
  };
}

/** POSTs one operation as a browser or curl would. */
export async function postGraphQL<TData>(url: URL, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<TData>> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  const body = JSON.parse(text) as Omit<GraphQLResponse<TData>, "status" | "text">;
  return { status: response.status, ...body, text };
}

/** The error at a response path, e.g. `errorAt(response, "userAccessTasks", 3)`. */
export function errorAt(response: GraphQLResponse<unknown>, ...path: Array<string | number>) {
  return response.errors?.find((error) => JSON.stringify(error.path) === JSON.stringify(path));
}
