/**
 * The OpenLineage RunEvent, as a zod model written from the published specification
 * (https://openlineage.io/spec/2-0-2/OpenLineage.json): the fields it requires and the shapes of
 * the facets Tributary sends. Used to build events and, in tests, to validate what a receiver got.
 */
import { z } from 'zod';

/** The spec version the model follows. */
export const OPENLINEAGE_SCHEMA_URL = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';

/** Every facet carries who produced it and the schema it follows (spec: BaseFacet). */
export const baseFacet = z.looseObject({
  _producer: z.url(),
  _schemaURL: z.url(),
});

/** A map of facets by name. */
const facets = z.record(z.string(), baseFacet);

/** spec: Run. */
export const run = z.object({
  runId: z.uuid(),
  facets: facets.optional(),
});

/** spec: Job. */
export const job = z.object({
  namespace: z.string().min(1),
  name: z.string().min(1),
  facets: facets.optional(),
});

/** spec: Dataset (InputDataset and OutputDataset add input/output facets). */
export const dataset = z.object({
  namespace: z.string().min(1),
  name: z.string().min(1),
  facets: facets.optional(),
});

/** spec: RunEvent (BaseEvent's eventTime, producer and schemaURL are required). */
export const runEvent = z.object({
  eventTime: z.iso.datetime({ offset: true }),
  producer: z.url(),
  schemaURL: z.url(),
  eventType: z.enum(['START', 'RUNNING', 'COMPLETE', 'ABORT', 'FAIL', 'OTHER']).optional(),
  run,
  job,
  inputs: z.array(dataset.extend({ inputFacets: facets.optional() })).optional(),
  outputs: z.array(dataset.extend({ outputFacets: facets.optional() })).optional(),
});

/** An OpenLineage run event. */
export type RunEvent = z.infer<typeof runEvent>;
