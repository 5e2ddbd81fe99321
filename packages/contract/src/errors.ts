/**
 * The error catalogue. Every error Tributary raises on purpose is a `TributaryError` with a
 * stable `code` (`TRIB_E_*`); callers branch on `code` or `retryable`, never on message text.
 */

/** Stable error codes, with whether a retry may succeed. */
export const ERROR_CODES = {
  /** Configuration from the environment is invalid or incomplete. */
  TRIB_E_CONFIG: { retryable: false, status: 500 },
  /** A pipeline spec file cannot be read, parsed or validated. */
  TRIB_E_SPEC: { retryable: false, status: 400 },
  /** A request names a pipeline that is not loaded. */
  TRIB_E_UNKNOWN_PIPELINE: { retryable: false, status: 404 },
  /** A request names a source that the pipeline does not declare (or not for push). */
  TRIB_E_UNKNOWN_SOURCE: { retryable: false, status: 404 },
  /** A body cannot be parsed in its declared content type. */
  TRIB_E_PARSE: { retryable: false, status: 400 },
  /** A body's content type is not one Tributary reads. */
  TRIB_E_UNSUPPORTED_MEDIA_TYPE: { retryable: false, status: 415 },
  /** A body is larger than the configured limit. */
  TRIB_E_TOO_LARGE: { retryable: false, status: 413 },
  /** Missing or invalid API key. */
  TRIB_E_UNAUTHORIZED: { retryable: false, status: 401 },
  /** The caller is over its rate limit. */
  TRIB_E_RATE_LIMITED: { retryable: true, status: 429 },
  /** A record does not satisfy a schema (source schema, validate step, dataset fields). */
  TRIB_E_VALIDATION: { retryable: false, status: 422 },
  /** A transform step failed on a record (expression error, cast failure). */
  TRIB_E_STEP: { retryable: false, status: 422 },
  /** A record was rejected by the warehouse (constraint or data error). */
  TRIB_E_LOAD_REJECTED: { retryable: false, status: 422 },
  /** A message could not be decoded (bad codec, corrupt body). */
  TRIB_E_DECODE: { retryable: false, status: 400 },
  /** A stream, consumer, bucket or table that `migrate` creates is missing. */
  TRIB_E_TOPOLOGY_MISSING: { retryable: false, status: 503 },
  /** JetStream is unreachable, timed out, or refused the publish (e.g. stream full). */
  TRIB_E_UNAVAILABLE: { retryable: true, status: 503 },
  /** The warehouse is unreachable or failed for a reason unrelated to the data. */
  TRIB_E_WAREHOUSE_UNAVAILABLE: { retryable: true, status: 503 },
  /** A warehouse table cannot take its spec (changed type, key or mode): that table stops, others go on. */
  TRIB_E_SCHEMA_INCOMPATIBLE: { retryable: false, status: 409 },
  /** A data-quality check of severity error failed (or could not run). */
  TRIB_E_CHECK_FAILED: { retryable: false, status: 422 },
  /** A model file cannot be read or loaded by the runtime (missing, corrupt, or an operator it cannot run). */
  TRIB_E_ML_MODEL: { retryable: false, status: 500 },
  /** A report file (reports/*.md) cannot be parsed or checked: front matter, component, query or input. */
  TRIB_E_REPORT: { retryable: false, status: 422 },
  /** A report's query failed in the warehouse (bad SQL, statement timeout, no permission). */
  TRIB_E_REPORT_QUERY: { retryable: false, status: 422 },
  /** Anything else: a bug. */
  TRIB_E_INTERNAL: { retryable: false, status: 500 },
} as const;

/** One of the stable error codes. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Where in the input an error happened: any subset of these is set. */
export interface ErrorLocation {
  file?: string;
  line?: number;
  column?: number;
  field?: string;
  index?: number;
  subject?: string;
}

/** Base class of every error Tributary raises on purpose. */
export class TributaryError extends Error {
  override readonly name: string = 'TributaryError';
  readonly code: ErrorCode;
  readonly location: ErrorLocation;
  /** Extra machine-readable detail (e.g. the list of spec problems). */
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, opts: { cause?: unknown; location?: ErrorLocation; details?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.location = opts.location ?? {};
    this.details = opts.details;
  }

  /** Whether retrying the same operation later may succeed. */
  get retryable(): boolean {
    return ERROR_CODES[this.code].retryable;
  }

  /** The HTTP status this error maps to at an API boundary. */
  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  /** A JSON-safe view for HTTP replies, DLQ entries and logs. */
  toJSON(): { code: ErrorCode; message: string; location?: ErrorLocation; details?: unknown } {
    const out: { code: ErrorCode; message: string; location?: ErrorLocation; details?: unknown } = {
      code: this.code,
      message: this.message,
    };
    if (Object.keys(this.location).length > 0) out.location = this.location;
    if (this.details !== undefined) out.details = this.details;
    return out;
  }
}

/** Whether `err` is a TributaryError, optionally with the given code. */
export function isTributaryError(err: unknown, code?: ErrorCode): err is TributaryError {
  return err instanceof TributaryError && (code === undefined || err.code === code);
}

/** Whether retrying after `err` may help. Unknown errors are treated as transient. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof TributaryError) return err.retryable;
  return true;
}

/** Wraps any thrown value as a TributaryError, keeping TributaryErrors as they are. */
export function toTributaryError(err: unknown, fallback: ErrorCode = 'TRIB_E_INTERNAL'): TributaryError {
  if (err instanceof TributaryError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TributaryError(fallback, message, { cause: err });
}
