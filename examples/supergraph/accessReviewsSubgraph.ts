import { readFileSync } from "node:fs";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginInlineTraceDisabled } from "@apollo/server/plugin/disabled";
import { startStandaloneServer } from "@apollo/server/standalone";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { parse } from "graphql";

/** A demo review: who reviews which tasks. */
export interface AccessReview {
  id: string;
  title: string;
  reviewer: string;
  taskIds: string[];
}

/** The second subgraph's SDL, as a router would fetch it. */
export const ACCESS_REVIEWS_TYPEDEFS = parse(readFileSync(new URL("./access-reviews.graphql", import.meta.url), "utf8"));

/**
 * A minimal second subgraph, as another team would write it: it stores task ids and returns them as
 * `UserAccessTask` references for the router to resolve in the user-access subgraph.
 */
export async function startAccessReviewsSubgraph(reviews: readonly AccessReview[], port = 0): Promise<{ url: URL; stop: () => Promise<void> }> {
  const toGraphQL = (review: AccessReview) => ({
    ...review,
    tasks: review.taskIds.map((taskId) => ({ __typename: "UserAccessTask", taskId })),
  });
  const server = new ApolloServer({
    schema: buildSubgraphSchema([
      {
        typeDefs: ACCESS_REVIEWS_TYPEDEFS,
        resolvers: {
          Query: {
            accessReviews: () => reviews.map(toGraphQL),
            accessReview: (_root: unknown, { id }: { id: string }) => {
              const review = reviews.find((candidate) => candidate.id === id);
              return review ? toGraphQL(review) : null;
            },
          },
        },
      },
    ]),
    stopOnTerminationSignals: false,
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  const { url } = await startStandaloneServer(server, { listen: { port } });
  return { url: new URL(url), stop: () => server.stop() };
}
