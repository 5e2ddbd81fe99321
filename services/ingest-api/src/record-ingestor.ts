/**
 * Longer than 300 lines because checking, serialising, splitting and publishing a batch are one
 * path that every source shares, and the pre-serialised `JsonLines` path reuses its split and publish.
 *
 * Turns parsed records into durable JetStream messages: validates each against the source
 * schema (rejects are dead-lettered one message each, with index and reason), splits the valid
 * ones into batches bounded by records and bytes, publishes them with deterministic message IDs,
 * and resolves only once JetStream acknowledged everything. Each message carries the oldest source
 * time of its records (`Trib-Source-Time`, docs/design.md, Wire contract) when the source has one.
 */
import { compileSchema, type RecordSchema, type SchemaProblems, schemaKindOf, summariseProblems } from '@tributary/contract/schema';
import { H, makeHeaders, subjects, toSourceTime } from '@tributary/contract/wire';
import { NDJSON } from '@tributary/contract/codec';
import { type Pipeline } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import { publishDeadLetter, validationError, type Publisher } from '@tributary/runtime/nats';
import { type StageMetrics } from '@tributary/runtime/metrics';

/**
 * One rejected record in a reply: `field` and `reason` sum it up (the first field; a reason naming
 * every problem), `errors` lists every problem with its field (at most MAX_RECORD_PROBLEMS, `more`
 * counts the rest).
 */
export interface Rejection {
  index: number;
  field?: string;
  reason: string;
  errors: { field?: string; reason: string }[];
  more?: number;
}

/** What happened to a batch of records. */
export interface IngestResult {
  accepted: number;
  rejected: number;
  /** Rejections with their index and reason (the first 1000). */
  errors: Rejection[];
  /** JetStream messages the accepted records were published in. */
  messages: number;
  /** Messages JetStream had already (a retry within the duplicate window). */
  duplicates: number;
  /** The ID the message IDs derive from. */
  batch_id: string;
}

const MAX_REPORTED_ERRORS = 1000;

/**
 * Where the source time of records comes from: a record field (a dotted path; a record without it
 * has none, one whose value is not a timestamp is rejected) or one time for every record (a file's
 * modification time, a push request's header), canonical already (`toSourceTime`).
 */
export type SourceTimeRule = { field: string } | { at: string };

/**
 * Records already serialised: each line is one JSON object's text (a source that has its records
 * as JSON, such as PostgreSQL writing them in a CDC snapshot). Without a schema to check they are
 * published as they are, no object built; with one, each is parsed and checked like any record.
 */
export class JsonLines {
  constructor(readonly lines: readonly string[]) {}
}

/** The value at dotted `path` of `rec`, or undefined. */
function valueAt(rec: object, path: string): unknown {
  let v: unknown = rec;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** The record's source time under `rule`, or a problem when its field holds something else. */
function recordSourceTime(rec: object, rule: SourceTimeRule, last: { raw?: string; time?: string }): string | undefined | SchemaProblems {
  if ('at' in rule) return rule.at;
  const raw = valueAt(rec, rule.field);
  if (raw === undefined || raw === null) return undefined;
  // Records of a batch often share their time (a CDC transaction's commit): parse each text once.
  if (raw === last.raw) return last.time;
  const t = toSourceTime(raw);
  if (t !== undefined) {
    if (typeof raw === 'string') Object.assign(last, { raw, time: t });
    return t;
  }
  const shown = JSON.stringify(raw) ?? String(raw);
  return summariseProblems([
    {
      field: rule.field,
      message: `source_time field "${rule.field}": ${shown.length > 60 ? `${shown.slice(0, 60)}...` : shown} is not an RFC 3339 timestamp`,
    },
  ]);
}

/** Validates, batches and publishes records for the sources of a set of pipelines. */
export class RecordIngestor {
  private readonly validators = new Map<string, RecordSchema | undefined>();
  private readonly fingerprints = new Map<string, string>();

  constructor(
    private readonly publisher: Publisher,
    private readonly opts: { batchRecords: number; batchBytes: number; metrics?: StageMetrics },
  ) {}

  /** The source's schema (JSON Schema, Avro or Protobuf, by extension), compiled once. */
  private validatorFor(pipeline: Pipeline, source: string): RecordSchema | undefined {
    const key = `${pipeline.name}/${source}`;
    if (!this.validators.has(key)) {
      const ref = pipeline.sources[source]?.schema;
      const doc = ref ? pipeline.schemas[ref] : undefined;
      const schema = ref && doc !== undefined ? compileSchema(doc, ref, schemaKindOf(ref)) : undefined;
      this.validators.set(key, schema);
      this.fingerprints.set(key, schema ? `${schema.kind}:${schema.fingerprint}` : '');
    }
    return this.validators.get(key);
  }

  /**
   * Serialises one record, refusing (400/413, naming the index) what can never be published.
   * `sent`: the record's JSON text as the client sent it (NDJSON), published as it is.
   */
  private serialise(rec: unknown, index: number, sent?: string): string {
    let line: string;
    try {
      line = sent ?? JSON.stringify(rec) ?? 'null';
    } catch (err) {
      throw new TributaryError('TRIB_E_PARSE', `record ${index} cannot be serialised (nested too deeply?): ${(err as Error).message}`, {
        location: { index },
        cause: err,
      });
    }
    // The record must fit one message with room for the dead-letter envelope around it.
    if (line.length > this.opts.batchBytes && Buffer.byteLength(line) > this.opts.batchBytes) {
      throw new TributaryError(
        'TRIB_E_TOO_LARGE',
        `record ${index} is ${Buffer.byteLength(line)} bytes; the largest record is ${this.opts.batchBytes} bytes`,
        {
          location: { index },
        },
      );
    }
    return line;
  }

  /**
   * Ingests `records` for `pipeline`/`source`. `id` is the base of every message ID: the caller's
   * `<source>:<Idempotency-Key>`, a pull source position, or a fresh ID. `sentLines`, when given, is
   * each record's JSON text as received (NDJSON bodies): a record the schema check leaves as it is
   * travels as that text, which saves serialising it again; JSON.parse of it gives the same record.
   * `sourceTime`: where the records' source time comes from (none when unset). `records` given as
   * `JsonLines` skip parsing when nothing needs the objects (no schema, no source time field).
   */
  async ingest(
    pipeline: Pipeline,
    source: string,
    given: unknown[] | JsonLines,
    sourceId: string,
    ingestedAt = Date.now(),
    sentLines?: readonly string[],
    sourceTime?: SourceTimeRule,
  ): Promise<IngestResult> {
    // JetStream drops repeated IDs across the whole stream, so the pipeline is part of every ID:
    // two pipelines with a source of the same name and the same client key must not collide.
    const id = `${pipeline.name}/${sourceId}`;
    const validate = this.validatorFor(pipeline, source);
    let records: unknown[];
    if (given instanceof JsonLines) {
      if (!validate && (!sourceTime || 'at' in sourceTime))
        return this.publishLines(pipeline, source, id, given.lines, ingestedAt, sourceTime);
      records = given.lines.map((line) => JSON.parse(line) as unknown);
      sentLines = given.lines;
    } else records = given;
    const fingerprint = this.fingerprints.get(`${pipeline.name}/${source}`) || undefined;
    const errors: Rejection[] = [];
    const rejects: { index: number; record: unknown; problems: SchemaProblems }[] = [];
    const lines: string[] = [];
    // times[k]: the source time of lines[k] (only filled when the source has a source time).
    const times: (string | undefined)[] = [];
    const lastTime: { raw?: string; time?: string } = {};
    // First pass: check and serialise everything, so a record that can never travel (too deep to
    // serialise, or larger than a message) refuses the whole request before anything is published.
    for (let i = 0; i < records.length; i++) {
      const sent = records[i];
      let rec = sent;
      let problems: SchemaProblems | undefined;
      if (rec === null || typeof rec !== 'object' || Array.isArray(rec))
        problems = summariseProblems([{ message: 'a record must be a JSON object' }]);
      else if (validate) {
        // Avro and Protobuf schemas also decode: the record travels as the schema reads it.
        const checked = validate.check(rec);
        if ('problem' in checked) problems = checked;
        else rec = checked.record;
      }
      let time: string | undefined;
      if (sourceTime && !problems) {
        const t = recordSourceTime(rec as object, sourceTime, lastTime);
        if (typeof t === 'object') problems = t;
        else time = t;
      }
      const line = this.serialise(rec, i, rec === sent ? sentLines?.[i] : undefined);
      if (problems) {
        if (errors.length < MAX_REPORTED_ERRORS) {
          const { problem, more } = problems;
          errors.push({
            index: i,
            ...(problem.field ? { field: problem.field } : {}),
            reason: problem.message,
            errors: problems.problems.map((p) => ({ ...(p.field ? { field: p.field } : {}), reason: p.message })),
            ...(more ? { more } : {}),
          });
        }
        rejects.push({ index: i, record: rec, problems });
      } else {
        lines.push(line);
        if (sourceTime) times.push(time);
      }
    }
    const rejected = rejects.length;
    const dlq = rejects.map(({ index: i, record: rec, problems }) =>
      publishDeadLetter(
        this.publisher,
        {
          pipeline: pipeline.name,
          stage: 'ingest',
          name: source,
          record: (rec ?? null) as never,
          error: validationError(problems, { index: i }),
          attempts: 1,
          replaySubject: subjects.raw(pipeline.name, source),
          original: { msgId: id, index: i },
          ingestedAt,
          failedAt: new Date().toISOString(),
          ...(fingerprint ? { schema: fingerprint } : {}),
        },
        `${id}:dlq:${i}`,
      ),
    );

    const { messages, duplicates } = await this.publishParts(pipeline, source, id, lines, times, ingestedAt, fingerprint, dlq);
    const m = this.opts.metrics;
    m?.records.inc({ pipeline: pipeline.name, stage: 'ingest', name: source, outcome: 'accepted' }, lines.length);
    if (rejected > 0) m?.records.inc({ pipeline: pipeline.name, stage: 'ingest', name: source, outcome: 'rejected' }, rejected);
    return { accepted: lines.length, rejected, errors, messages, duplicates, batch_id: id };
  }

  /** Publishes JSON lines as they are (no schema, source time given or none): checks only their size. */
  private async publishLines(
    pipeline: Pipeline,
    source: string,
    id: string,
    lines: readonly string[],
    ingestedAt: number,
    sourceTime?: { at: string },
  ): Promise<IngestResult> {
    for (let i = 0; i < lines.length; i++) this.serialise(undefined, i, lines[i]);
    const times = sourceTime ? new Array<string>(lines.length).fill(sourceTime.at) : [];
    const { messages, duplicates } = await this.publishParts(pipeline, source, id, lines, times, ingestedAt, undefined, []);
    this.opts.metrics?.records.inc({ pipeline: pipeline.name, stage: 'ingest', name: source, outcome: 'accepted' }, lines.length);
    return { accepted: lines.length, rejected: 0, errors: [], messages, duplicates, batch_id: id };
  }

  /**
   * Splits `lines` into messages bounded by records and bytes and publishes them (with the
   * dead-letter publishes `dlq` already under way); resolves once JetStream acknowledged all.
   */
  private async publishParts(
    pipeline: Pipeline,
    source: string,
    id: string,
    lines: readonly string[],
    times: readonly (string | undefined)[],
    ingestedAt: number,
    fingerprint: string | undefined,
    dlq: Promise<unknown>[],
  ): Promise<{ messages: number; duplicates: number }> {
    // Split into parts bounded by records and bytes; deterministic, so a retry splits the same way.
    // Each part carries the oldest source time of its records (canonical times compare as strings).
    const parts: string[][] = [];
    const oldest: (string | undefined)[] = [];
    let cur: string[] = [];
    let curOldest: string | undefined;
    let bytes = 0;
    for (let k = 0; k < lines.length; k++) {
      const line = lines[k]!;
      const size = Buffer.byteLength(line) + 1;
      if (cur.length > 0 && (cur.length >= this.opts.batchRecords || bytes + size > this.opts.batchBytes)) {
        parts.push(cur);
        oldest.push(curOldest);
        cur = [];
        curOldest = undefined;
        bytes = 0;
      }
      cur.push(line);
      const t = times[k];
      if (t !== undefined && (curOldest === undefined || t < curOldest)) curOldest = t;
      bytes += size;
    }
    if (cur.length > 0) {
      parts.push(cur);
      oldest.push(curOldest);
    }

    const subject = subjects.raw(pipeline.name, source);
    const acks = parts.map((part, p) =>
      this.publisher.publish(subject, Buffer.from(part.join('\n')), {
        msgId: parts.length > 1 ? `${id}:${p}` : id,
        headers: makeHeaders({
          [H.pipeline]: pipeline.name,
          [H.source]: source,
          [H.count]: part.length,
          [H.ingestedAt]: ingestedAt,
          [H.sourceTime]: oldest[p],
          [H.contentType]: NDJSON,
          [H.schema]: fingerprint,
          [H.part]: parts.length > 1 ? `${p + 1}/${parts.length}` : undefined,
        }),
      }),
    );
    const settled = await Promise.allSettled([...acks, ...dlq]);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const duplicates = settled
      .slice(0, acks.length)
      .filter((s) => s.status === 'fulfilled' && (s.value as { duplicate?: boolean }).duplicate).length;
    return { messages: parts.length, duplicates };
  }
}
