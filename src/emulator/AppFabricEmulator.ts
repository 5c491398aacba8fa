import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { StartedTasks, type StartedTask } from "./startedTasks.js";
import { sendError } from "./emulatorHttp.js";
import { RequestHandler, type Counters } from "./RequestHandler.js";
import type { EmulatorOptions } from "./EmulatorOptions.js";
import type { ReceivedCall } from "./ReceivedCall.js";
import type { FaultRule } from "./faultSchedule.js";

export type { Fault, FaultRule } from "./faultSchedule.js";

export type { EmulatorOptions } from "./EmulatorOptions.js";
export type { ReceivedCall } from "./ReceivedCall.js";

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
