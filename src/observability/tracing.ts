import type { IncomingHttpHeaders } from "node:http";
import { diag, DiagLogLevel, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtobufExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
} from "@opentelemetry/sdk-trace";
import type { Logger } from "pino";
import { DEFAULT_SERVICE_NAME, type SamplerSettings, type TracingSettings } from "./TracingSettings.js";
import { failureOf, type AppFabricCallObserver } from "../appfabric/callEvents.js";

export interface Tracing {
  /** A span for one GraphQL operation: a child of the caller's W3C `traceparent`, when it sent one. */
  startOperation: (headers: IncomingHttpHeaders) => Span;
  /** A span for each AppFabric call attempt, a child of the operation it serves. */
  observer: AppFabricCallObserver;
  /** Exports the spans still buffered, then stops. */
  shutdown: () => Promise<void>;
}

/**
 * Traces with OpenTelemetry's SDK, exported over OTLP/HTTP (protobuf or JSON) in batches. Spans carry
 * counts, names of operations, statuses and AWS request ids: never task ids, emails, names, query text
 * or variables. Nothing here registers globally; the spans are made by this service's own code, not by
 * instrumentation of Node's modules.
 */
export function startTracing(settings: TracingSettings, logger: Logger): Tracing {
  // The SDK reports export failures through `diag`; they are the collector's trouble, logged at warn
  // (one line per failed batch, its first words only: the SDK passes whole errors as JSON text).
  const warn = (message: string) => logger.warn({ component: "opentelemetry" }, `OpenTelemetry: ${firstWords(message)}`);
  diag.setLogger(
    {
      error: warn,
      warn,
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  const exporter = settings.protocol === "http/json" ? new JsonExporter({ url: settings.url.href }) : new ProtobufExporter({ url: settings.url.href });
  const provider = new TracerProvider({
    resource: resourceFromAttributes(settings.resource),
    sampler: samplerOf(settings.sampler),
    spanProcessors: [new BatchSpanProcessor({ exporter })],
  });
  const tracer = provider.getTracer(DEFAULT_SERVICE_NAME);
  const propagator = new W3CTraceContextPropagator();
  const getter = {
    keys: (carrier: IncomingHttpHeaders) => Object.keys(carrier),
    get: (carrier: IncomingHttpHeaders, key: string) => carrier[key],
  };

  return {
    startOperation: (headers) => tracer.startSpan("GraphQL Operation", { kind: SpanKind.SERVER }, propagator.extract(ROOT_CONTEXT, headers, getter)),
    observer: {
      attemptStarted: ({ operation, ids, attempt, trace: served }) => {
        const parent = served === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, served.parent);
        const span = tracer.startSpan(
          `AppFabric/${operation}`,
          {
            kind: SpanKind.CLIENT,
            attributes: {
              "rpc.system": "aws-api",
              "rpc.service": "AppFabric",
              "rpc.method": operation,
              "appfabric.task_ids": ids,
              "appfabric.attempt": attempt,
            },
            links: served?.links.map((context) => ({ context })),
          },
          parent,
        );
        return (event) => {
          if (typeof event.outcome === "number") span.setAttribute("http.response.status_code", event.outcome);
          if (event.awsRequestId !== undefined) span.setAttribute("aws.request_id", event.awsRequestId);
          const failure = failureOf(event);
          if (typeof event.outcome === "string") span.setAttribute("appfabric.outcome", event.outcome);
          if (failure !== undefined) {
            span.setAttribute("error.type", failure);
            span.setStatus({ code: SpanStatusCode.ERROR, message: failure });
          }
          span.end();
        };
      },
    },
    // Stopping exports what is buffered, but never fails the stop or holds it for long: a collector that
    // is down or slow costs at most SHUTDOWN_EXPORT_MS and a warning.
    shutdown: async () => {
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<"timeout">((resolve) => (timer = setTimeout(resolve, SHUTDOWN_EXPORT_MS, "timeout")));
      try {
        if ((await Promise.race([provider.shutdown(), limit])) === "timeout") warn(`the last spans were not exported within ${SHUTDOWN_EXPORT_MS} ms`);
      } catch (error) {
        warn(`the last spans were not exported (${error instanceof Error ? error.message : "unknown error"})`);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** The most a stop waits for the last spans to reach the collector. */
const SHUTDOWN_EXPORT_MS = 2_000;

/** The SDK passes whole errors as JSON text (stack and file paths included): only their message is kept. */
function firstWords(message: string): string {
  let text = message;
  try {
    const parsed: unknown = JSON.parse(message);
    if (typeof parsed === "object" && parsed !== null && "message" in parsed && typeof parsed.message === "string") text = parsed.message;
  } catch {
    // plain text
  }
  return text.split("\n")[0]?.slice(0, 200) ?? "";
}

function samplerOf(settings: SamplerSettings): Sampler {
  const root =
    settings.root === "always_on"
      ? new AlwaysOnSampler()
      : settings.root === "always_off"
        ? new AlwaysOffSampler()
        : new TraceIdRatioBasedSampler(settings.ratio);
  return settings.parentBased ? new ParentBasedSampler({ root }) : root;
}
