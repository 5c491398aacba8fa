import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { AwsCredentialIdentity } from "@smithy/types";
import type { UserAccessResultItem } from "../appfabric/types.js";
import { StartedTasks, type StartedTask } from "./startedTasks.js";
import { sendError } from "./emulatorHttp.js";
import type { FaultRule } from "./faultSchedule.js";
import { RequestHandler, type Counters } from "./RequestHandler.js";

export type { Fault, FaultRule } from "./faultSchedule.js";

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
  now?: () => Date;
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

/** One request the emulator received on a known route, with what it answered. */
export interface ReceivedCall {
  operation: "BatchGetUserAccessTasks" | "StartUserAccessTasks";
  appBundleIdentifier: string | undefined;
  /** As received, before validation. */
  taskIdList: string[];
  /** The access key id that signed it, if any. */
  accessKeyId: string | undefined;
  /**
   * The HTTP status answered; 0 while unanswered or when the emulator dropped the connection, 499
   * when the client went away first (nginx's "client closed request").
   */
  status: number;
}

/**
 * An AppFabric stand-in on loopback: the real routes and wire format, SigV4 verified with the real
 * signer, AWS's validation and error shapes, unknown ids left out and results shuffled (AWS promises
 * no order). It records every call, so tests can assert on what the upstream saw, and answers with
 * injected faults on request.
 */
/** Answer times kept at most between two takes (a benchmark takes them every few seconds). */
const MAX_ANSWER_TIMES = 1_000_000;

export class AppFabricEmulator {
  readonly url: URL;
  readonly calls: ReceivedCall[];
  readonly #server: Server;
  readonly #faults: FaultRule[];
  readonly #counters: Counters;

  readonly #started: StartedTasks;

  private constructor(server: Server, url: URL, calls: ReceivedCall[], faults: FaultRule[], counters: Counters, started: StartedTasks) {
    this.#started = started;
    this.#server = server;
    this.url = url;
    this.calls = calls;
    this.#faults = faults;
    this.#counters = counters;
  }

  /** Every task `StartUserAccessTasks` started here, with where it ends up. */
  get startedTasks(): StartedTask[] {
    return this.#started.list();
  }

  /** Calls received on known routes, recorded or not. */
  get callCount(): number {
    return this.#counters.calls;
  }

  /** TCP connections clients opened: few for many calls means they keep connections alive. */
  get connectionsOpened(): number {
    return this.#counters.connections;
  }

  /** Answer times (ms) kept since the last take, with `recordAnswerTimes`; empties the list. */
  takeAnswerTimes(): number[] {
    return this.#counters.answerTimes.splice(0);
  }

  /** Starts listening; resolves once the port is bound. */
  static async start(options: EmulatorOptions = {}): Promise<AppFabricEmulator> {
    const calls: ReceivedCall[] = [];
    const faults: FaultRule[] = (options.faults ?? []).map((rule) => ({ ...rule }));
    const counters: Counters = { calls: 0, connections: 0, answerTimes: [] };
    const started = new StartedTasks(options.taskProgressMs ?? 1000, options.taskClock);
    const handler = new RequestHandler(options, calls, faults, counters, started);
    const server = createServer((request, response) => {
      if (options.recordAnswerTimes === true && counters.answerTimes.length < MAX_ANSWER_TIMES) {
        const start = performance.now();
        response.once("finish", () => counters.answerTimes.push(performance.now() - start));
      }
      handler.handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) sendError(response, 500, "InternalServerException", `Emulator fault: ${String(error)}`);
      });
    });
    server.on("connection", () => {
      counters.connections += 1;
    });
    const host = options.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    return new AppFabricEmulator(server, new URL(`http://${host}:${port}`), calls, faults, counters, started);
  }

  /** Adds a fault rule; the first matching rule with calls left answers a call. */
  injectFault(rule: FaultRule): void {
    this.#faults.push({ ...rule });
  }

  /** Forgets faults and recorded calls. */
  reset(): void {
    this.#faults.length = 0;
    this.calls.length = 0;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
