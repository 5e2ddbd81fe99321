/**
 * pino JSON logs. Every line carries the service name and, inside a span, its trace and span IDs.
 */
import { trace } from '@opentelemetry/api';
import pino, { type Logger } from 'pino';

/** Creates the service logger. */
export function createLogger(service: string, level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin() {
        const ctx = trace.getActiveSpan()?.spanContext();
        return ctx ? { trace_id: ctx.traceId, span_id: ctx.spanId } : {};
      },
      redact: {
        paths: ['*.password', '*.apiKey', '*.authorization', 'req.headers.authorization', 'req.headers["x-api-key"]'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

export type { Logger };
