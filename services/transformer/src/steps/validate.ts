/**
 * `validate`: dead-letters records that do not satisfy a schema, naming every failing field and
 * why. JSON Schema (`.json`), Avro (`.avsc`) or Protobuf (`.proto`, with `message`), by extension
 * or `kind`. Avro and Protobuf also decode: the record goes on as the schema reads it (Avro fills
 * defaults and drops undeclared fields; Protobuf keeps declared fields, enums by name). The
 * schema's fingerprint goes on the dataset's processed messages (`Trib-Schema-Fingerprint`).
 */
import { compileSchema, schemaKindOf } from '@tributary/contract/schema';
import { STEP_SPECS } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import type { StepFactory } from './step';

/** Config shape (from the core spec). */
export const spec = STEP_SPECS.validate;

/** Creates the step; the schema file was loaded and checked with the spec. */
export const create: StepFactory<typeof spec> = (config, deps) => {
  const kind = schemaKindOf(config.schema, config.kind);
  const schema = compileSchema(deps.pipeline.schemas[config.schema], config.schema, kind, config.message);
  return {
    kind: 'validate',
    fingerprint: `${kind}:${schema.fingerprint}`,
    apply(record) {
      const r = schema.check(record);
      if ('problem' in r) {
        // Every problem (capped; the message ends "… and N more" past the cap), each with its field.
        throw new TributaryError('TRIB_E_VALIDATION', `${config.schema}: ${r.problem.message}`, {
          location: { field: r.problem.field },
          details: r.problems,
        });
      }
      return r.record;
    },
  };
};
