import type { ApolloServerPlugin } from "@apollo/server";
import type { GraphQLContext } from "../resolvers/context.js";

/** Counts operations between Apollo's start and answer, so that shutdown can let the last ones end. */
export function operationsInFlight() {
  let count = 0;
  let onIdle: (() => void) | undefined;
  const plugin: ApolloServerPlugin<GraphQLContext> = {
    async requestDidStart() {
      count += 1;
      return {
        async willSendResponse() {
          count -= 1;
          if (count === 0) onIdle?.();
        },
      };
    },
  };
  const settled = async (limitMs: number) => {
    if (count === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      onIdle = resolve;
      timer = setTimeout(resolve, limitMs);
    });
    clearTimeout(timer);
  };
  return { plugin, settled };
}
