/** The `validate` step's config: records must satisfy a schema file (implemented by the transformer's `steps/validate.ts`). */
import { z } from 'zod';

/** Schema languages a `validate` step (and a source's `schema`) can use. */
export const schemaKind = z.enum(['json_schema', 'avro', 'protobuf']);

/** Config of the `validate` step. */
export const validateStepSpec = z
  .strictObject({
    schema: z.string().meta({
      description:
        'Schema file, relative to the pipeline file: JSON Schema (`.json`), Avro (`.avsc`) or Protobuf (`.proto`), by extension unless `kind` says.',
    }),
    kind: schemaKind.optional().meta({ description: 'The schema language, when the file extension does not say it.' }),
    message: z.string().optional().meta({
      description: 'Protobuf: the message type records must be (e.g. `shop.v1.Transaction`); needed when the file has several.',
    }),
  })
  .meta({
    description:
      'Dead-letters records that do not satisfy a schema (JSON Schema, Avro or Protobuf), with the failing field and reason; Avro and Protobuf also decode (convert) values to the schema types. The schema fingerprint rides in the `Trib-Schema-Fingerprint` header.',
  });
