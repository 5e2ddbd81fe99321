/**
 * Record schemas in three languages, behind one interface: JSON Schema (ajv), Avro (`avsc`) and
 * Protobuf (`protobufjs`). Each checks a record (naming the failing field and why), decodes it to
 * the schema's types (Avro: defaults filled in, undeclared fields dropped, timestamps as ISO 8601;
 * Protobuf: enum names, declared fields only), reporting every problem, not only the first
 * (`schema-problems.ts`), and has a fingerprint that travels in the
 * `Trib-Schema-Fingerprint` header, so a consumer knows exactly which version a batch was checked
 * against. Avro fingerprints are the standard SHA-256 of the schema's Parsing Canonical Form.
 *
 * Used by `validate` steps, by ingest for source schemas, and by the ingest body codecs
 * (`avro-container.ts`, `protobuf-delimited.ts`).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import avro from 'avsc';
import protobuf from 'protobufjs';
import { compileRecordSchema } from './json-schema';
import { summariseProblems, type SchemaProblem, type SchemaProblems } from './schema-problems';

/** A schema language. */
export type SchemaKind = 'json_schema' | 'avro' | 'protobuf';

export type { SchemaProblem, SchemaProblems } from './schema-problems';

/** A compiled record schema. */
export interface RecordSchema {
  kind: SchemaKind;
  /** The path as written in the spec. */
  ref: string;
  /** First 16 hex digits of a SHA-256 identifying this exact schema version. */
  fingerprint: string;
  /** The record decoded to the schema's types, or every problem (capped; `problem` sums them up). */
  check(record: unknown): { record: Record<string, unknown> } | SchemaProblems;
}

/** The schema language of a file: `kind` when given, else by extension (`.avsc`, `.proto`, else JSON Schema). */
export function schemaKindOf(ref: string, kind?: SchemaKind): SchemaKind {
  if (kind) return kind;
  const ext = path.extname(ref).toLowerCase();
  return ext === '.avsc' ? 'avro' : ext === '.proto' ? 'protobuf' : 'json_schema';
}

/** Parses a schema file's text: a JSON document (JSON Schema, Avro), or Protobuf source kept as text. */
export function parseSchemaText(text: string, kind: SchemaKind): unknown {
  return kind === 'protobuf' ? text : (JSON.parse(text) as unknown);
}

const hex16 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex').slice(0, 16);

/** Compiles a parsed schema document; throws an Error saying what is wrong with it. */
export function compileSchema(doc: unknown, ref: string, kind: SchemaKind, message?: string): RecordSchema {
  if (kind === 'avro') return compileAvro(doc, ref);
  if (kind === 'protobuf') return compileProtobuf(String(doc), ref, message);
  const validate = compileRecordSchema(doc, ref);
  return {
    kind,
    ref,
    fingerprint: hex16(JSON.stringify(doc)),
    check(record) {
      return validate(record) ?? { record: record as Record<string, unknown> };
    },
  };
}

const notAnObject: SchemaProblems = summariseProblems([{ message: 'a record must be a JSON object' }]);

const shown = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 60)}...` : s;
};

// ---------------------------------------------------------------------------------------------
// Avro

/** Reads ISO 8601 strings, Dates and epoch numbers; gives ISO 8601 back, so records stay JSON. */
class TimestampType extends avro.types.LogicalType {
  private readonly micros: boolean;
  constructor(schema: avro.Schema, opts?: unknown) {
    super(schema, opts);
    this.micros = (schema as { logicalType?: string }).logicalType === 'timestamp-micros';
  }
  protected override _fromValue(v: unknown): string {
    return new Date(this.micros ? Number(v) / 1000 : Number(v)).toISOString();
  }
  protected override _toValue(v: unknown): number | undefined {
    const ms = typeof v === 'string' ? Date.parse(v) : v instanceof Date ? v.getTime() : typeof v === 'number' ? v : NaN;
    return Number.isFinite(ms) ? (this.micros ? ms * 1000 : ms) : undefined;
  }
  protected override _resolve(type: avro.Type): ((v: unknown) => unknown) | undefined {
    // A writer timestamp already reads as ISO 8601 (its own logical type); a plain long is converted.
    if (avro.Type.isType(type, 'logical:timestamp-millis', 'logical:timestamp-micros')) return (v) => v;
    if (avro.Type.isType(type, 'long')) return (v) => this._fromValue(v);
    return undefined;
  }
}

/** `date`: days since the epoch on the wire, `YYYY-MM-DD` in records. */
class DateType extends avro.types.LogicalType {
  protected override _fromValue(v: unknown): string {
    return new Date(Number(v) * 86_400_000).toISOString().slice(0, 10);
  }
  protected override _toValue(v: unknown): number | undefined {
    const ms = typeof v === 'string' ? Date.parse(v) : v instanceof Date ? v.getTime() : NaN;
    return typeof v === 'number' ? v : Number.isFinite(ms) ? Math.floor(ms / 86_400_000) : undefined;
  }
  protected override _resolve(type: avro.Type): ((v: unknown) => unknown) | undefined {
    if (avro.Type.isType(type, 'logical:date')) return (v) => v;
    if (avro.Type.isType(type, 'int')) return (v) => this._fromValue(v);
    return undefined;
  }
}

/** The logical types Tributary reads (others fall back to their underlying type). */
export const AVRO_LOGICAL_TYPES = { 'timestamp-millis': TimestampType, 'timestamp-micros': TimestampType, date: DateType };

/** An Avro type with Tributary's logical types. */
export function avroType(schema: unknown): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema, { logicalTypes: AVRO_LOGICAL_TYPES, wrapUnions: 'auto' });
}

/** Turns decoded Avro values into plain JSON values (records to objects, bytes to base64). */
export function plainAvro(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (Array.isArray(v)) return v.map(plainAvro);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plainAvro(x);
    return out;
  }
  return v;
}

/**
 * Fills what a JSON record may leave out: a missing field takes its default, or null when its
 * type allows null (as an Avro reader fills fields the writer did not have).
 */
function fillDefaults(type: avro.Type, v: unknown): unknown {
  if (!(type instanceof avro.types.RecordType) || v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  const out: Record<string, unknown> = { ...(v as Record<string, unknown>) };
  for (const field of type.fields) {
    const ft = field.type;
    if (out[field.name] === undefined) {
      const def = field.defaultValue();
      if (def !== undefined) out[field.name] = def;
      // A union (typeName `union:unwrapped` or `union:wrapped`) that admits null.
      else if (ft.typeName.startsWith('union') && (ft as unknown as { types: avro.Type[] }).types.some((t) => t.typeName === 'null'))
        out[field.name] = null;
    } else {
      out[field.name] = fillDefaults(ft, out[field.name]);
    }
  }
  return out;
}

function compileAvro(doc: unknown, ref: string): RecordSchema {
  const type = avroType(doc);
  if (!(type instanceof avro.types.RecordType)) throw new Error(`an Avro schema for records must be a record type, not ${type.typeName}`);
  return {
    kind: 'avro',
    ref,
    fingerprint: type.fingerprint('sha256').toString('hex').slice(0, 16),
    check(record) {
      if (record === null || typeof record !== 'object' || Array.isArray(record)) return notAnObject;
      const filled = fillDefaults(type, record);
      // Valid records, the common case, are checked without the hook; a bad one again with it,
      // which reports every invalid field (avsc goes on past the first).
      if (type.isValid(filled)) return { record: plainAvro(type.clone(filled)) as Record<string, unknown> };
      const problems: SchemaProblem[] = [];
      type.isValid(filled, {
        errorHook: (p: string[], val: unknown, t: avro.Type) => {
          const field = p.join('.');
          const expected = t.typeName.startsWith('logical:') ? t.typeName.slice('logical:'.length) : t.typeName;
          problems.push(
            val === undefined
              ? { field, message: `field "${field}" is missing (Avro type ${expected})` }
              : { field, message: `field "${field}": ${shown(val)} is not a valid Avro ${expected}` },
          );
        },
      });
      if (problems.length > 0) return summariseProblems(problems);
      return { record: plainAvro(type.clone(filled)) as Record<string, unknown> };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Protobuf

/** Every message type in a parsed .proto, by full name (without the leading dot). */
function messageTypes(ns: protobuf.NamespaceBase): protobuf.Type[] {
  const out: protobuf.Type[] = [];
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Type) out.push(nested);
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) out.push(...messageTypes(nested));
  }
  return out;
}

/** Enum names in a JSON record become their numbers (protobufjs verifies numbers), recursively. */
function enumNamesToNumbers(type: protobuf.Type, v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  const out: Record<string, unknown> = { ...(v as Record<string, unknown>) };
  for (const field of type.fieldsArray) {
    const x = out[field.name];
    if (x === undefined || x === null) continue;
    const conv = (y: unknown): unknown =>
      field.resolvedType instanceof protobuf.Enum && typeof y === 'string' && y in field.resolvedType.values
        ? field.resolvedType.values[y]
        : field.resolvedType instanceof protobuf.Type
          ? enumNamesToNumbers(field.resolvedType, y)
          : y;
    out[field.name] = field.repeated && Array.isArray(x) ? x.map(conv) : conv(x);
  }
  return out;
}

/** The Protobuf message type named `message` (or the only one) in .proto source `text`. */
export function protobufType(text: string, message?: string): protobuf.Type {
  // keepCase: fields keep their snake_case names, as records (and dataset fields) have them.
  const root = protobuf.parse(text, { keepCase: true }).root.resolveAll();
  if (message) return root.lookupType(message);
  const all = messageTypes(root);
  if (all.length !== 1) {
    throw new Error(
      `the file defines ${all.length} message types (${all.map((t) => t.fullName.slice(1)).join(', ')}): name one with \`message\``,
    );
  }
  return all[0]!;
}

/** A decoded Protobuf message as a plain record: enum names, 64-bit integers as numbers, no defaults. */
export function plainProtobuf(type: protobuf.Type, msg: protobuf.Message): Record<string, unknown> {
  return type.toObject(msg, { longs: Number, enums: String, bytes: String, defaults: false }) as Record<string, unknown>;
}

function compileProtobuf(text: string, ref: string, message?: string): RecordSchema {
  const type = protobufType(text, message);
  return {
    kind: 'protobuf',
    ref,
    fingerprint: hex16(`${type.fullName}\n${JSON.stringify(type.root.toJSON())}`),
    check(record) {
      if (record === null || typeof record !== 'object' || Array.isArray(record)) return notAnObject;
      // Fields the message does not declare are not part of the contract: dropped, as a decoder would.
      const declared: Record<string, unknown> = {};
      for (const f of type.fieldsArray)
        if ((record as Record<string, unknown>)[f.name] !== undefined) declared[f.name] = (record as Record<string, unknown>)[f.name];
      const input = enumNamesToNumbers(type, declared) as Record<string, unknown>;
      if (type.verify(input)) return summariseProblems(protobufProblems(type, input));
      return { record: plainProtobuf(type, type.fromObject(input)) };
    },
  };
}

/**
 * Every problem of a Protobuf record. protobufjs's `verify` names only the first, so each problem
 * found is taken out of a copy of the record (a bad field dropped, a missing required field given
 * its default) and the copy verified again, until it passes or the cap is reached.
 */
function protobufProblems(type: protobuf.Type, input: Record<string, unknown>): SchemaProblem[] {
  const name = type.fullName.slice(1);
  const rest: Record<string, unknown> = { ...input };
  const problems: SchemaProblem[] = [];
  const reported = new Set<string>();
  // Each round drops or fills one top-level field, so this ends; a nested problem ends it early.
  for (let err = type.verify(rest), rounds = 0; err && rounds <= 2 * type.fieldsArray.length; err = type.verify(rest), rounds++) {
    // protobufjs says "amount: number expected" or "missing required 'card_id'".
    const required = /missing required '([^']+)'/.exec(err);
    const field = required ? required[1]! : err.split(':')[0]!.replace(/\[.*$/, '');
    const top = field.split('.')[0]!;
    const f = type.fields[top];
    if (!f) break;
    const value = field
      .split('.')
      .reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), rest);
    if (required || value === undefined) {
      // A required field missing, or one dropped below for its bad value: given its default.
      if (!reported.has(field)) problems.push({ field, message: `field "${field}" is missing (required by ${name})` });
      if (rest[top] !== undefined && top === field) break;
      rest[top] = f.resolvedType instanceof protobuf.Type ? {} : f.repeated ? [] : f.typeDefault;
    } else {
      problems.push({
        field,
        message: `field "${field}": ${shown(value)} does not fit ${name} (${err.slice(err.indexOf(':') + 1).trim()})`,
      });
      delete rest[top];
    }
    reported.add(field);
  }
  return problems;
}
