/* What tracing is started with; read from OpenTelemetry's variables by config/readTracing. No SDK is loaded here. */

/** How spans are exported: OTLP over HTTP, to one URL, with one sampler. */
export interface TracingSettings {
  /** Where spans are POSTed (the collector's `/v1/traces`). */
  url: URL;
  protocol: "http/protobuf" | "http/json";
  sampler: SamplerSettings;
  /** The resource: `service.name` from OTEL_SERVICE_NAME (or the default) over OTEL_RESOURCE_ATTRIBUTES. */
  resource: Record<string, string>;
}

/** The service's name in traces unless OTEL_SERVICE_NAME says otherwise. */
export const DEFAULT_SERVICE_NAME = "appfabric-user-access-subgraph";

/** `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`, as the OpenTelemetry specification names them. */
export interface SamplerSettings {
  root: "always_on" | "always_off" | "traceidratio";
  /** Follow the caller's sampling decision (its `traceparent`) when there is one. */
  parentBased: boolean;
  /** For `traceidratio`: the share of traces kept, 0..1. */
  ratio: number;
}
