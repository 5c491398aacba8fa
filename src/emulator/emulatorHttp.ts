import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

/** The largest request body the emulator reads. */
const MAX_BODY_BYTES = 1024 * 1024;

/** Past MAX_BODY_BYTES, the rest of a body is still read (and dropped) up to this, so that the 413 reaches a client still sending. */
const MAX_DRAINED_BYTES = 16 * 1024 * 1024;

/** The body as text, or undefined when it is larger than MAX_BODY_BYTES. */
export async function readBody(request: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_DRAINED_BYTES) return undefined;
    if (size <= MAX_BODY_BYTES) chunks.push(buffer);
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString("utf8");
}

export function lowerCaseHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(",") : value;
  }
  return headers;
}

export function send(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { "content-type": "application/json", "x-amzn-requestid": randomUUID(), ...headers });
  response.end(body);
}

/**
 * An AWS restJson1 error: the type in `X-Amzn-Errortype` with the namespace suffix AWS adds (clients
 * must clean it), the message and members in the JSON body.
 */
export function sendError(
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

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
