/**
 * Why the server could not listen, in one line naming the variable to change; undefined for any
 * other failure (which is a fault, and keeps its stack).
 */
export function listenProblem(error: unknown, host: string, port: number): string | undefined {
  const code = error instanceof Error && "code" in error ? error.code : undefined;
  switch (code) {
    case "EADDRINUSE":
      return `PORT ${port} is already in use on ${host}; choose another PORT (0 picks a free one) or stop what holds it.`;
    case "EACCES":
      return `PORT ${port} needs privileges this process lacks; choose a PORT above 1023.`;
    case "EADDRNOTAVAIL":
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_FAIL":
    case "EAI_NONAME":
      return `HOST "${host}" is not an address of this machine; use 0.0.0.0 (all interfaces), 127.0.0.1 or one of its own addresses.`;
    default:
      return undefined;
  }
}
