import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginInlineTrace } from "@apollo/server/plugin/inlineTrace";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import type { KeyValueCache } from "@apollo/utils.keyvaluecache";
import { ApolloArmor } from "@escape.tech/graphql-armor";
import { GraphQLError, type ASTVisitor, type GraphQLSchema, type ValidationContext, type ValidationRule } from "graphql";
import { formatError } from "../errors/formatError.js";
import type { GraphQLContext } from "../resolvers/context.js";
import { EXAMPLE_OPERATION, exampleVariables } from "./exampleOperation.js";
import { explorerPage, graphiqlLandingPage, type BuiltExplorer } from "./explorer/graphiqlExplorer.js";
import { documentLimits, MAX_ALIAS_LENGTH, type OperationLimits } from "./operationLimits.js";
import { PERSISTED_QUERY_TTL_S } from "../fleet/persistedQueryCache.js";
import { operationLimitsPlugin } from "./operationLimitsPlugin.js";

/** How long a persisted document is kept in a shared (Redis) cache. */

export interface ApolloServerOptions {
  /** The subgraph schema (`buildSchema`), built once for every server of the process. */
  schema: GraphQLSchema;
  /** Production: field suggestions off in validation errors (they reveal the schema). */
  production: boolean;
  /** Introspection and Sandbox on. */
  introspection: boolean;
  /** What one operation may ask for. */
  limits: OperationLimits;
  /** Task ids for the landing page's ready-made example query (the emulator's demo ids). */
  exampleTaskIds?: readonly string[];
  /** GraphiQL, as built, as the landing page; undefined: Sandbox. */
  graphiql?: BuiltExplorer;
  /** Where automatic persisted queries are kept; Apollo's in-memory cache when undefined. */
  persistedQueries?: KeyValueCache<string>;
  /** More plugins: the HTTP server's drain, observers. */
  plugins?: ApolloServerPlugin<GraphQLContext>[];
}

/**
 * The subgraph's Apollo Server. The schema is built once, here, not per request. graphql-armor caps
 * aliases, depth, directives and cost per operation, the parser caps tokens, and
 * `operationLimitsPlugin` caps the task ids and the starts. The document's own bounds follow from
 * `limits` (see `documentLimits`).
 */
export function createApolloServer(options: ApolloServerOptions): ApolloServer<GraphQLContext> {
  const rules = documentRules(options.limits, options.production);
  return new ApolloServer<GraphQLContext>({
    schema: options.schema,
    validationRules: rules.validationRules,
    parseOptions: { maxTokens: rules.maxTokens },
    allowBatchedHttpRequests: false,
    // Persisted documents live an hour in a shared cache (Apollo keeps them forever unless told).
    ...(options.persistedQueries === undefined ? {} : { persistedQueries: { cache: options.persistedQueries, ttl: PERSISTED_QUERY_TTL_S } }),
    introspection: options.introspection,
    // The entry point owns shutdown (drain, then exit 0); Apollo's own handler re-raises the signal.
    stopOnTerminationSignals: false,
    // Every error a client sees is deliberate and says what went wrong; stacks stay in the logs.
    includeStacktraceInErrorResponses: false,
    formatError,
    plugins: [
      // Typed for Apollo's BaseContext; they read no context, so they serve this one as they are.
      ...(rules.plugins as ApolloServerPlugin<GraphQLContext>[]),
      operationLimitsPlugin(options.limits),
      ...(options.plugins ?? []),
      // Federated traces for the router (error messages masked in traces, Apollo's default).
      ApolloServerPluginInlineTrace(),
      landingPage(options),
    ],
  });
}

/** Sandbox or GraphiQL, opening on the example operation with the demo ids; none without introspection. */
function landingPage({ introspection, graphiql, exampleTaskIds = [] }: ApolloServerOptions): ApolloServerPlugin {
  if (!introspection) return ApolloServerPluginLandingPageDisabled();
  const variables = exampleVariables(exampleTaskIds);
  if (graphiql !== undefined) return graphiqlLandingPage(explorerPage(graphiql, { query: EXAMPLE_OPERATION, variables }));
  return ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false, document: EXAMPLE_OPERATION, variables });
}

/** Typed for the CommonJS build of Apollo's plugin types; they serve the ESM ones as they are. */
type ArmorPlugins = ReturnType<ApolloArmor["protect"]>["plugins"];

/**
 * The rules every document is checked by, over HTTP and WebSocket alike: graphql-armor's caps on
 * aliases, depth, directives and cost, the alias-length rule, and the parser's token limit. The
 * plugins (armor's field-suggestion mask, in production) are Apollo's; other transports mask
 * suggestions themselves.
 */
export function documentRules(limits: OperationLimits, production: boolean): { validationRules: ValidationRule[]; plugins: ArmorPlugins; maxTokens: number } {
  const bounds = documentLimits(limits);
  const armor = new ApolloArmor({
    maxAliases: { n: limits.maxAliases },
    maxDepth: { n: bounds.maxDepth },
    // graphql-js's own parser limit (parseOptions below) answers 400; armor's version answers 500.
    maxTokens: { enabled: false },
    maxDirectives: { n: bounds.maxDirectives },
    costLimit: { maxCost: bounds.maxCost },
    blockFieldSuggestion: { enabled: production },
  }).protect();
  return { validationRules: [...armor.validationRules, shortAliases], plugins: armor.plugins, maxTokens: bounds.maxTokens };
}

/** Refuses an alias longer than MAX_ALIAS_LENGTH (see there why). */
function shortAliases(context: ValidationContext): ASTVisitor {
  return {
    Field(node) {
      if (node.alias !== undefined && node.alias.value.length > MAX_ALIAS_LENGTH) {
        context.reportError(new GraphQLError(`Aliases may be at most ${MAX_ALIAS_LENGTH} characters long.`, { nodes: node.alias }));
      }
    },
  };
}
