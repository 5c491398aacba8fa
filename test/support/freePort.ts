import { createServer } from "node:net";
import type { AddressInfo } from "node:net";

/** A loopback port nothing listens on (a moment ago): for "the endpoint is down" tests. */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
