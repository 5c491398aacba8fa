import type { Clock } from "../lib/Clock.js";
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AwsCredentialIdentity } from "@smithy/types";
import { BATCH_GET_USER_ACCESS_TASKS_PATH, START_USER_ACCESS_TASKS_PATH } from "../appfabric/constants.js";
import type { UserAccessResultItem } from "../appfabric/types.js";
import type { EmulatorOptions } from "./EmulatorOptions.js";
import type { ReceivedCall } from "./ReceivedCall.js";
import { DEMO_APP_BUNDLE_ARN, DEMO_APP_BUNDLE_ID, DEMO_TASKS, EMULATOR_CREDENTIALS } from "./demoData.js";
import { lowerCaseHeaders, readBody, send, sendError, sleep } from "./emulatorHttp.js";
import { takeFault, type Fault, type FaultRule } from "./faultSchedule.js";
import { batchGetUserAccessTasks, startUserAccessTasks } from "./operations.js";
import type { StartedTasks } from "./startedTasks.js";
import { parseBody, validateBatchGetRequest, validateStartRequest, type ParsedBody } from "./validateRequests.js";
import { verifySignature } from "./verifySignature.js";

/** What the emulator counts, recorded or not. */
export interface Counters {
  calls: number;
  connections: number;
  /** With `recordAnswerTimes`: ms from request to last byte, per answer. */
  answerTimes: number[];
}
const CLIENT_CLOSED_REQUEST = 499;
/** `application/json`, in any case, with or without parameters such as `; charset=utf-8`. */
const JSON_CONTENT_TYPE = /^\s*application\/json\s*(?:;.*)?$/i;

const OPERATIONS: Record<string, ReceivedCall["operation"]> = {
  [BATCH_GET_USER_ACCESS_TASKS_PATH]: "BatchGetUserAccessTasks",
  [START_USER_ACCESS_TASKS_PATH]: "StartUserAccessTasks",
};

/**
 * Answers one request as AppFabric would: the route, SigV4 verification, the fault schedule applied
 * where AWS's own failures happen (before validation, instead of the answer, or while sending it),
 * validation, then the operation itself. Every call on a known route is recorded.
 */
export class RequestHandler {
  readonly #region: string;
  readonly #tasks: Map<string, UserAccessResultItem>;
  readonly #appBundles: Set<string>;
  readonly #credentials: Map<string, AwsCredentialIdentity>;
  readonly #random: () => number;
  readonly #now: Clock;
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
    this.#now = options.now ?? Date.now;
    this.#latencyMs = options.latencyMs ?? 0;
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // AWS's Date is AWS's clock: what SDKs correct a skewed clock by.
    response.setHeader("date", new Date(this.#now()).toUTCString());
    const body = await readBody(request);
    if (body === undefined) return sendError(response, 413, "RequestEntityTooLargeException", "The request body is too large.");
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

    // restJson1: an operation with a body takes application/json (parameters allowed), else 415.
    if (!JSON_CONTENT_TYPE.test(headers["content-type"] ?? "")) {
      answer(415);
      return sendError(response, 415, "UnsupportedMediaTypeException", "The request's content type must be application/json.");
    }

    const fault = takeFault(this.#faults, call, this.#random);
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

    const { status, text } =
      "taskIdList" in validated
        ? batchGetUserAccessTasks(validated, { tasks: this.#tasks, started: this.#started, random: this.#random })
        : startUserAccessTasks(validated, this.#started);
    answer(status);
    return sendAnswer(request, response, { status, text }, fault, () => (droppedByEmulator = true));
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
}

/**
 * The answer, its body as a fault (if any) shapes it: cut off halfway under a content length that
 * promises more (`truncated`, then the socket is dropped: `dropped` says so), or sent in two halves
 * `ms` apart (`slowBody`).
 */
async function sendAnswer(
  request: IncomingMessage,
  response: ServerResponse,
  { status, text }: { status: number; text: string },
  fault: Fault | undefined,
  dropped: () => void,
): Promise<void> {
  if (fault?.kind === "truncated") {
    response.writeHead(status, {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(text) + 100),
      "x-amzn-requestid": randomUUID(),
    });
    response.write(text.slice(0, Math.floor(text.length / 2)));
    dropped();
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
  send(response, status, text);
}
