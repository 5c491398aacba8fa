import type { Clock } from "../lib/Clock.js";
import type { AwsCredentialIdentity } from "@smithy/types";
import type { UserAccessResultItem } from "../appfabric/types.js";
import type { FaultRule } from "./faultSchedule.js";

/** What an `AppFabricEmulator` is started with. */
export interface EmulatorOptions {
  /** The region signatures must be scoped to. Default `us-east-1`. */
  region?: string;
  /** The tasks it knows. Default: the demo tasks, one of every status. */
  tasks?: readonly UserAccessResultItem[];
  /** The app bundle identifiers (ARN and/or UUID) it knows. Default: the demo bundle, both forms. */
  appBundles?: readonly string[];
  /** The key pairs it accepts. Default: `EMULATOR_CREDENTIALS`. */
  credentials?: readonly AwsCredentialIdentity[];
  /** Shuffles results; injected for repeatable order. */
  random?: () => number;
  /** The emulator's clock, for signature expiry. */
  now?: Clock;
  /** Default 127.0.0.1 and a free port. */
  host?: string;
  port?: number;
  /** Added to every answer, as a stand-in for AWS's round trip. Default 0. */
  latencyMs?: number;
  /** Faults in force from the start (e.g. from `APPFABRIC_EMULATOR_FAULTS`). */
  faults?: readonly FaultRule[];
  /** Keep every call in `calls` (default). Long benchmarks turn it off and read `callCount`. */
  recordCalls?: boolean;
  /** Keep how long each answer took, from request to last byte (benchmarks read the upstream's own latency). */
  recordAnswerTimes?: boolean;
  /** The time unit of started tasks' progress: they end 1 to 4 units after they start. Default 1000 ms. */
  taskProgressMs?: number;
  /** The clock of started tasks' progress (ms); injected by tests, which move it instead of sleeping. */
  taskClock?: () => number;
}
