import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { AwsCredentialIdentity } from "@smithy/types";
import { BATCH_GET_USER_ACCESS_TASKS_PATH, START_USER_ACCESS_TASKS_PATH } from "../appfabric/constants.js";
import type { BatchGetUserAccessTasksResponse, StartUserAccessTasksResponse, UserAccessResultItem } from "../appfabric/types.js";
import { DEMO_APP_BUNDLE_ARN, DEMO_APP_BUNDLE_ID, DEMO_TASKS, EMULATOR_CREDENTIALS } from "./demoData.js";
import { StartedTasks, type StartedTask } from "./startedTasks.js";
import { parseBody, validateBatchGetRequest, validateStartRequest, type ParsedBody } from "./validateRequests.js";
import { verifySignature } from "./verifySignature.js";

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

/** A failure the emulator can be told to answer with, as AWS sometimes does. */
export type Fault =
  /** An AWS error answer: the type goes in `X-Amzn-Errortype`, as AWS sends it. */
  | { kind: "error"; status: number; errorType?: string; message?: string; retryAfter?: string }
  /** Wait, then answer normally. */
  | { kind: "delay"; ms: number }
  /** Drop the connection without answering. */
  | { kind: "reset" }
  /** Answer 200 with a body that is not JSON. */
  | { kind: "malformed" }
  /** Answer 200, promise more body than is sent, then close the connection. */
  | { kind: "truncated" }
  /** Answer 200 with the headers and half the body at once, the rest after `ms`. */
  | { kind: "slowBody"; ms: number };

export interface FaultRule {
  fault: Fault;
  /** Which calls it hits; all when absent. */
  when?: (call: Pick<ReceivedCall, "taskIdList" | "appBundleIdentifier">) => boolean;
  /** Only calls that carry this task id. */
  taskId?: string;
  /** Matching calls to let through before it starts. */
  skip?: number;
  /** How many calls it hits before it is used up; unlimited when absent. */
  times?: number;
  /** The chance (0..1) that it hits a matching call; 1 when absent. */
  probability?: number;
}

const MAX_BODY_BYTES = 1024 * 1024;

interface Counters {
  calls: number;
  connections: number;
}
const CLIENT_CLOSED_REQUEST = 499;

const OPERATIONS: Record<string, ReceivedCall["operation"]> = {
  [BATCH_GET_USER_ACCESS_TASKS_PATH]: "BatchGetUserAccessTasks",
  [START_USER_ACCESS_TASKS_PATH]: "StartUserAccessTasks",
};

/**
 * An AppFabric stand-in on loopback: the real routes and wire format, SigV4 verified with the real
 * signer, AWS's validation and error shapes, unknown ids left out and results shuffled (AWS promises
 * no order). It records every call, so tests can assert on what the upstream saw, and answers with
 * injected faults on request.
 */
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

  /** Starts listening; resolves once the port is bound. */
  static async start(options: EmulatorOptions = {}): Promise<AppFabricEmulator> {
    const calls: ReceivedCall[] = [];
    const faults: FaultRule[] = (options.faults ?? []).map((rule) => ({ ...rule }));
    const counters: Counters = { calls: 0, connections: 0 };
    const started = new StartedTasks(options.taskProgressMs ?? 1000, options.taskClock);
    const handler = new RequestHandler(options, calls, faults, counters, started);
    const server = createServer((request, response) => {
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

class RequestHandler {
  readonly #region: string;
  readonly #tasks: Map<string, UserAccessResultItem>;
  readonly #appBundles: Set<string>;
  readonly #credentials: Map<string, AwsCredentialIdentity>;
  readonly #random: () => number;
  readonly #now: () => Date;
  readonly #latencyMs: number;
  readonly #calls: ReceivedCall[];
  readonly #faults: FaultRule[];
  readonly #counters: Counters;
  readonly #recordCalls: boolean;

  readonly #started: StartedTasks;

  constructor(options: EmulatorOptions, calls: ReceivedCall[], faults: FaultRule[], counters: Counters, started: StartedTasks) {
    this.#started = started;
    this.#calls = calls;
    this.#faults = faults;
    this.#counters = counters;
    this.#recordCalls = options.recordCalls ?? true;
    this.#region = options.region ?? "us-east-1";
    this.#tasks = new Map((options.tasks ?? DEMO_TASKS).map((task) => [task.taskId ?? "", task]));
    this.#appBundles = new Set(options.appBundles ?? [DEMO_APP_BUNDLE_ARN, DEMO_APP_BUNDLE_ID]);
    this.#credentials = new Map((options.credentials ?? [EMULATOR_CREDENTIALS]).map((credentials) => [credentials.accessKeyId, credentials]));
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? (() => new Date());
    this.#latencyMs = options.latencyMs ?? 0;
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    if (body === undefined) return sendError(response, 413, "ValidationException", "Request body too large.", { reason: "other" });
    const path = request.url ?? "/";
    const operation = request.method === "POST" ? OPERATIONS[new URL(path, "http://emulator.invalid").pathname] : undefined;
    if (operation === undefined) {
      return sendError(response, 404, "UnknownOperationException", `No operation at ${request.method} ${path}.`);
    }

    const headers = lowerCaseHeaders(request);
    const parsed = parseBody(body);
    const call = this.#record(operation, parsed, headers);
    let droppedByEmulator = false;
    response.on("close", () => {
      if (!response.writableFinished && !droppedByEmulator && call.status === 0) call.status = CLIENT_CLOSED_REQUEST;
    });
    const answer = (status: number): void => {
      if (call.status !== CLIENT_CLOSED_REQUEST) call.status = status;
    };
    if (this.#latencyMs > 0) await sleep(this.#latencyMs);

    const rejection = await verifySignature(
      { method: "POST", path, headers, body },
      { region: this.#region, credentialsFor: (id) => this.#credentials.get(id), now: this.#now },
    );
    if (rejection) {
      answer(403);
      return sendError(response, 403, rejection.errorType, rejection.message);
    }

    const fault = this.#takeFault(call);
    if (fault?.kind === "error") {
      answer(fault.status);
      const extraHeaders: Record<string, string> = fault.retryAfter === undefined ? {} : { "retry-after": fault.retryAfter };
      return sendError(response, fault.status, fault.errorType, fault.message ?? "Injected fault.", {}, extraHeaders);
    }
    if (fault?.kind === "reset") {
      answer(0);
      droppedByEmulator = true;
      request.socket.destroy();
      return;
    }
    if (fault?.kind === "malformed") {
      answer(200);
      return send(response, 200, '{"userAccessResultsList": [{"taskId": ');
    }
    if (fault?.kind === "delay") await sleep(fault.ms);

    const validated = operation === "BatchGetUserAccessTasks" ? validateBatchGetRequest(parsed) : validateStartRequest(parsed);
    if ("reason" in validated) {
      answer(400);
      const { message, ...fields } = validated;
      return sendError(response, 400, "ValidationException", message, fields, {}, "http://internal.amazon.com/coral/com.amazon.coral.validate/");
    }
    if (!this.#appBundles.has(validated.appBundleIdentifier)) {
      answer(404);
      return sendError(response, 404, "ResourceNotFoundException", `App bundle ${validated.appBundleIdentifier} does not exist.`, {
        resourceId: validated.appBundleIdentifier,
        resourceType: "AppBundle",
      });
    }

    let status: number;
    let text: string;
    if ("taskIdList" in validated) {
      const found = [...new Set(validated.taskIdList)].flatMap((taskId) => this.#tasks.get(taskId) ?? this.#started.view(taskId) ?? []);
      const result: BatchGetUserAccessTasksResponse = { userAccessResultsList: shuffle(found, this.#random) };
      [status, text] = [200, JSON.stringify(result)];
    } else {
      const result: StartUserAccessTasksResponse = { userAccessTasksList: this.#started.start(validated.email) };
      [status, text] = [201, JSON.stringify(result)];
    }
    answer(status);
    if (fault?.kind === "truncated") {
      response.writeHead(status, {
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(text) + 100),
        "x-amzn-requestid": randomUUID(),
      });
      response.write(text.slice(0, Math.floor(text.length / 2)));
      droppedByEmulator = true;
      setImmediate(() => request.socket.destroy());
      return;
    }
    if (fault?.kind === "slowBody") {
      response.writeHead(status, { "content-type": "application/json", "x-amzn-requestid": randomUUID() });
      response.write(text.slice(0, Math.floor(text.length / 2)));
      await sleep(fault.ms);
      response.end(text.slice(Math.floor(text.length / 2)));
      return;
    }
    return send(response, status, text);
  }

  #record(operation: ReceivedCall["operation"], parsed: ParsedBody, headers: Record<string, string>): ReceivedCall {
    const body = parsed.ok ? parsed.body : {};
    const taskIdList = Array.isArray(body["taskIdList"]) ? body["taskIdList"].map(String) : [];
    const appBundleIdentifier = typeof body["appBundleIdentifier"] === "string" ? body["appBundleIdentifier"] : undefined;
    const accessKeyId = /Credential=([^/\s]+)\//.exec(headers["authorization"] ?? "")?.[1];
    const call: ReceivedCall = { operation, appBundleIdentifier, taskIdList, accessKeyId, status: 0 };
    this.#counters.calls += 1;
    if (this.#recordCalls) this.#calls.push(call);
    return call;
  }

  /** The first rule that matches this call, is not used up, has skipped enough, and wins its draw. */
  #takeFault(call: ReceivedCall): Fault | undefined {
    for (const rule of this.#faults) {
      if ((rule.times ?? 1) <= 0) continue;
      if (!(rule.when?.(call) ?? true) || (rule.taskId !== undefined && !call.taskIdList.includes(rule.taskId))) continue;
      if ((rule.skip ?? 0) > 0) {
        rule.skip = (rule.skip ?? 0) - 1;
        continue;
      }
      if (rule.probability !== undefined && this.#random() >= rule.probability) continue;
      if (rule.times !== undefined) rule.times -= 1;
      return rule.fault;
    }
    return undefined;
  }
}

async function readBody(request: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function lowerCaseHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(",") : value;
  }
  return headers;
}

function send(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { "content-type": "application/json", "x-amzn-requestid": randomUUID(), ...headers });
  response.end(body);
}

/**
 * An AWS restJson1 error: the type in `X-Amzn-Errortype` with the namespace suffix AWS adds (clients
 * must clean it), the message and members in the JSON body.
 */
function sendError(
  response: ServerResponse,
  status: number,
  errorType: string | undefined,
  message: string,
  members: Record<string, unknown> = {},
  headers: Record<string, string> = {},
  namespace = "http://internal.amazon.com/coral/com.amazonaws.appfabric/",
): void {
  const typeHeader: Record<string, string> = errorType === undefined ? {} : { "x-amzn-errortype": `${errorType}:${namespace}` };
  send(response, status, JSON.stringify({ message, ...members }), { ...typeHeader, ...headers });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Fisher–Yates, so every order is possible, as AWS promises none. */
function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
