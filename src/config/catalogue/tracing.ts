import { DEFAULT_SERVICE_NAME } from "../../observability/TracingSettings.js";
import type { SettingSpec } from "../SettingSpec.js";

const OTLP = "an http(s) URL of an OTLP/HTTP collector";

/** The standard OpenTelemetry variables the service reads or checks (see docs/operating.md#traces-opentelemetry). */
export const tracing = {
  group: "Traces (OpenTelemetry)",
  settings: [
    {
      name: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
      kind: "text",
      shown: "url",
      shownDefault: "off",
      values: OTLP,
      doc: "when set, traces are exported there over OTLP/HTTP, used as is (see [docs/operating.md](docs/operating.md#traces-opentelemetry))",
    },
    {
      name: "OTEL_EXPORTER_OTLP_ENDPOINT",
      kind: "text",
      shown: "url",
      shownDefault: "off",
      values: OTLP,
      doc: "the same, `v1/traces` added; the traces-specific variable wins",
    },
    {
      name: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
      kind: "text",
      default: "http/protobuf",
      values: "`http/protobuf` or `http/json`",
      aliases: ["OTEL_EXPORTER_OTLP_PROTOCOL"],
      doc: "the exporter's encoding (grpc is not supported); unset, `OTEL_EXPORTER_OTLP_PROTOCOL` is read",
    },
    ...(["OTEL_EXPORTER_OTLP_TRACES_", "OTEL_EXPORTER_OTLP_"] as const).flatMap(
      (prefix) =>
        [
          {
            name: `${prefix}HEADERS`,
            kind: "text",
            shown: "secret",
            values: "comma-separated `name=value` pairs, values percent-encoded",
            doc: "headers the exporter sends (a collector's token); never logged",
          },
          { name: `${prefix}TIMEOUT`, kind: "integer", default: 10_000, min: 1, max: 600_000, doc: "the exporter's timeout per export, in ms" },
          { name: `${prefix}COMPRESSION`, kind: "text", default: "none", values: "`gzip` or `none`", doc: "the exporter's compression" },
        ] as const,
    ),
    { name: "OTEL_SERVICE_NAME", kind: "text", default: DEFAULT_SERVICE_NAME, values: "text", doc: "the `service.name` resource attribute" },
    {
      name: "OTEL_RESOURCE_ATTRIBUTES",
      kind: "text",
      shownDefault: "none",
      values: "comma-separated `key=value` pairs, values percent-encoded",
      doc: "resource attributes, e.g. `deployment.environment=prod`",
    },
    {
      name: "OTEL_TRACES_SAMPLER",
      kind: "text",
      default: "parentbased_always_on",
      values: "`always_on`, `always_off`, `traceidratio` or `parentbased_` and one of them",
      doc: "which traces are kept",
    },
    { name: "OTEL_TRACES_SAMPLER_ARG", kind: "text", shownDefault: "1", values: "a ratio from 0 to 1", doc: "the ratio of the `traceidratio` samplers" },
    { name: "OTEL_TRACES_EXPORTER", kind: "text", default: "otlp", values: "`otlp` or `none`", doc: "`none` turns tracing off" },
    { name: "OTEL_SDK_DISABLED", kind: "boolean", default: false, doc: "`true` turns tracing off" },
  ],
} as const satisfies { group: string; settings: readonly SettingSpec[] };
