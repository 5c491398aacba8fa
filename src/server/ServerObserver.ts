import type { RefusalReason } from "../observability/refusalReasons.js";

/**
 * What the server reports (the metrics implement it): refused requests, answered operations,
 * WebSocket connections and subscriptions, failed JWKS fetches; and the text `/metrics` serves.
 */
export interface ServerObserver {
  /** A request was refused; `reason` is one of the service's fixed words, never client text. */
  requestRefused(reason: RefusalReason): void;
  operationAnswered(operationName: string | undefined, outcome: "ok" | "partial" | "error" | "abandoned", taskIds: number): void;
  webSocketsChanged(delta: 1 | -1): void;
  subscriptionStarted(): void;
  subscriptionEnded(outcome: string, events: number): void;
  /** Reads, when scraped, the bytes all WebSocket connections hold for their clients. */
  observeWebSocketPending(bytes: () => number): void;
  jwksFetchFailed(reason: string): void;
  /** What `/metrics` serves: Prometheus's text and its content type. */
  readonly registry: { readonly contentType: string; metrics(): Promise<string> };
}
