/**
 * OpenTelemetry tracing: a Node tracer provider exporting over OTLP/HTTP when the standard
 * `OTEL_EXPORTER_OTLP_*` variables name an endpoint, and W3C trace context carried in NATS headers.
 */
import { context, propagation, ROOT_CONTEXT, trace, type Context, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { MsgHdrs } from '@nats-io/transport-node';

let provider: NodeTracerProvider | undefined;

/**
 * Starts tracing for a service (once per process). Spans are exported when an OTLP endpoint is
 * configured, or to the given processors (tests); otherwise they only give logs their trace IDs.
 */
export function startTelemetry(serviceName: string, extraProcessors: SpanProcessor[] = []): { shutdown(): Promise<void> } {
  if (!provider) {
    const processors: SpanProcessor[] = [...extraProcessors];
    if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
      processors.push(new BatchSpanProcessor(new OTLPTraceExporter()));
    }
    provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ 'service.name': process.env.OTEL_SERVICE_NAME ?? serviceName, 'service.namespace': 'tributary' }),
      spanProcessors: processors,
    });
    provider.register();
  }
  const p = provider;
  return { shutdown: () => p.shutdown() };
}

/** The trace context carried in a message's headers (or the root context). */
export function contextFromHeaders(h: MsgHdrs | undefined): Context {
  if (!h) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, h, {
    get: (carrier, key) => carrier.get(key) || undefined,
    keys: (carrier) => carrier.keys(),
  });
}

/** Runs `fn` in a span; records an error on the span, then rethrows it. */
export async function inSpan<T>(
  name: string,
  opts: Parameters<ReturnType<typeof trace.getTracer>['startSpan']>[1],
  parent: Context,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const tracer = trace.getTracer('tributary');
  const span = tracer.startSpan(name, opts, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: 2, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}
