/**
 * Config shape of the `rest` pull source: a declarative REST API client (request template,
 * record selector, pagination, incremental date windows, fan-out from parent records, retries).
 * The implementation is `services/ingest-api/src/sources/rest.ts`.
 */
import { z } from 'zod';
import { duration, identifier, sourceTimeField } from '../common';
import { pullScheduleSpec } from '../schedule';

const schemaRef = z
  .string()
  .meta({ description: 'Path of a JSON Schema file, relative to the pipeline file, that each record must satisfy.' });

/** A string with `{{ path }}` placeholders (see the `request` description for what they can name). */
const template = z.string().meta({ description: 'Text with `{{ path }}` placeholders.' });

/** A JSONata expression evaluated on a response body or record. */
const jsonata = z.string().min(1).meta({ description: 'A JSONata expression (a dotted path such as `_embedded.events` is one).' });

/** The HTTP request of each page. */
export const restRequestSpec = z
  .strictObject({
    method: z.enum(['GET', 'POST']).default('GET'),
    path: template.meta({
      description: "Path relative to the connection's base URL (or an absolute URL), e.g. `/events.json` or `/venues/{{ parent.id }}`.",
    }),
    query: z
      .record(z.string(), z.union([template, z.number(), z.boolean()]))
      .default({})
      .meta({ description: 'Query parameters; values are templates. A parameter that renders empty is left out.' }),
    headers: z.record(z.string(), template).default({}).meta({ description: 'Request headers; values are templates (no secrets here).' }),
    body: z.unknown().optional().meta({ description: 'JSON body for POST; string values are templates.' }),
  })
  .meta({
    title: 'rest request',
    description:
      "Placeholders: `{{ window.start }}`, `{{ window.end }}` (incremental, in `incremental.format`), `{{ parent.<path> }}` (fan-out), `{{ now }}` (ISO time the run was planned). Secrets come from the connection's `auth`, never from here.",
  });

const common = {
  max_pages: z
    .number()
    .int()
    .min(1)
    .default(100)
    .meta({ description: 'Hard cap on pages per request unit (window × parent), so a broken API cannot loop forever.' }),
  max_depth: z.number().int().min(1).optional().meta({
    description:
      'The deepest record of one result the API serves (Ticketmaster: `1000`, as `page * size` must stay below it). Paging never asks past it; a deeper result is handled as `on_max_pages` says.',
  }),
  depth_error: z.string().min(1).optional().meta({
    description:
      'Text in a 4xx answer that means the page is deeper than the API allows (Ticketmaster: `DIS1035`); treated like reaching `max_pages` instead of failing the run.',
  }),
  on_max_pages: z.enum(['split', 'partial', 'fail']).default('split').meta({
    description:
      'When a result is deeper than `max_pages`/`max_depth`/`depth_error` allow: `split` the time window in halves (down to `incremental.min_step`) and page each half, and where a split cannot help (no window, the floor, or an API that ignores the window bound) read as deep as allowed, commit it and report the run as a partial sync naming what was left; `partial` does that without splitting; `fail` fails the run (retried from the same page).',
  }),
  stop_when: jsonata.optional().meta({
    description:
      "Stop after a page when this JSONata expression on the response body is true; `$count` is the page's record count, `$page` its index.",
  }),
};

/** How the source walks through pages. */
export const restPaginationSpec = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('none') }).meta({ title: 'no pagination' }),
    z
      .strictObject({
        type: z.literal('page_number'),
        param: z.string().default('page').meta({ description: 'Query parameter carrying the page number.' }),
        start: z.number().int().min(0).default(1).meta({ description: 'Number of the first page (0 for Ticketmaster).' }),
        size_param: z.string().optional().meta({ description: 'Query parameter carrying the page size.' }),
        size: z.number().int().min(1).optional().meta({ description: 'Page size; a shorter page is the last one.' }),
        total_pages: jsonata.optional().meta({ description: 'Path of the total page count in the body, e.g. `page.totalPages`.' }),
        total: jsonata.optional().meta({
          description: 'Path of the total record count in the body, e.g. `page.totalElements`: the end of paging is checked against it.',
        }),
        ...common,
      })
      .meta({ title: 'page number' }),
    z
      .strictObject({
        type: z.literal('offset'),
        param: z.string().default('offset').meta({ description: 'Query parameter carrying the offset.' }),
        size_param: z.string().default('limit').meta({ description: 'Query parameter carrying the page size.' }),
        size: z.number().int().min(1).meta({ description: 'Page size; a shorter page is the last one.' }),
        total: jsonata.optional().meta({
          description: 'Path of the total record count in the body: the end of paging is checked against it.',
        }),
        ...common,
      })
      .meta({ title: 'offset' }),
    z
      .strictObject({
        type: z.literal('cursor'),
        param: z.string().meta({ description: 'Query parameter that carries the cursor to the next request.' }),
        path: jsonata.meta({ description: 'Path of the next cursor in the body; missing, empty or repeated ends paging.' }),
        ...common,
      })
      .meta({ title: 'cursor from the body' }),
    z
      .strictObject({
        type: z.literal('next_url'),
        path: jsonata.optional().meta({
          unset: 'the `Link` header\'s `rel="next"`',
          description: 'Path of the next page\'s URL (absolute or relative) in the body; when unset, the `Link: <...>; rel="next"` header.',
        }),
        ...common,
      })
      .meta({ title: 'next URL' }),
  ])
  .meta({ description: 'How to get the next page.' });

/** Incremental sync: date windows from a committed cursor. */
export const restIncrementalSpec = z
  .strictObject({
    start: z.string().min(1).meta({
      description: 'Where the first sync starts: an ISO date-time (`2024-01-01T00:00:00Z`) or a duration before now (`30d`).',
    }),
    step: duration
      .optional()
      .meta({ unset: 'one window', description: 'Window size: each window is requested separately; one window when unset.' }),
    min_step: duration.default(60_000).meta({
      description:
        'Smallest window a split makes (`pagination.on_max_pages: split`): a result too deep at this size is read as deep as allowed and reported partial.',
    }),
    lookback: duration.default(0).meta({
      description: 'Each run starts this long before the committed cursor, to pick up late or changed records.',
    }),
    end: duration.default(0).meta({ description: 'Windows end this long after now (e.g. `30d` for upcoming events or forecasts).' }),
    cursor_field: jsonata.optional().meta({
      unset: 'the window end',
      description:
        'Path of a date-time in each record: the committed cursor becomes the newest value seen (capped at the window end); the window end when unset.',
    }),
    format: z.enum(['iso', 'iso_seconds', 'unix', 'unix_ms', 'date']).default('iso').meta({
      description:
        'How `{{ window.start }}`/`{{ window.end }}` render: `2024-01-01T00:00:00.000Z`, `2024-01-01T00:00:00Z`, seconds, milliseconds, `2024-01-01`.',
    }),
  })
  .meta({
    title: 'incremental sync',
    description: 'Date windows from the committed cursor: each run covers [cursor - lookback, now + end), in `step` windows.',
  });

/** Fan-out: one request unit per parent record read from another source's or dataset's stream. */
export const restParentsSpec = z
  .strictObject({
    from: identifier.meta({
      description: 'A source (its raw stream) or dataset (its processed stream) of this pipeline whose records are the parents.',
    }),
    select: jsonata.optional().meta({
      unset: 'the record',
      description:
        'JSONata mapping each record to a parent object (or an array of them), e.g. `_embedded.venues[0]`; the record when unset.',
    }),
    key: jsonata.meta({ description: "Path of the parent's identity; parents are de-duplicated by it (the latest wins)." }),
    since: duration
      .optional()
      .meta({ unset: 'the whole stream', description: 'Only records published this long before the run; the whole stream when unset.' }),
    where: jsonata.optional().meta({
      description: 'JSONata filter on a parent; `$window_start`, `$window_end` (ms, incremental) and `$now` (ms) are bound.',
    }),
    max: z
      .number()
      .int()
      .min(1)
      .default(1000)
      .meta({ description: 'More parents than this fails the run (they are stored in the run plan).' }),
    skip_failed_for: duration.default(86_400_000).meta({
      description:
        'A parent whose request was dead-lettered (`on_malformed: dead_letter`, e.g. a 404 for one venue) is not requested, nor dead-lettered again, for this long.',
    }),
  })
  .meta({
    title: 'parents (fan-out)',
    description: 'Fan-out: one request per parent record (and window), e.g. one weather request per venue of the events stream.',
  });

/** Retries of failed requests. */
export const restRetrySpec = z
  .strictObject({
    attempts: z.number().int().min(1).default(5).meta({ description: 'Tries per request, the first included.' }),
    initial: duration.default(1000).meta({ description: 'Backoff before the first retry; doubles each time, with full jitter.' }),
    max: duration
      .default(60_000)
      .meta({ description: 'Largest backoff; a `Retry-After` longer than this fails the run instead of waiting.' }),
  })
  .meta({ title: 'retry', description: 'Retries on 429, 5xx, timeouts and network errors, honouring `Retry-After`.' });

/** `rest`: pages of a REST API, on a schedule. */
export const restSourceSpec = z
  .strictObject({
    kind: z.literal('rest'),
    connection: identifier.meta({ description: 'An `http` connection: base URL, auth, budget.' }),
    schedule: pullScheduleSpec.default({ every: 15 * 60_000 }),
    request: restRequestSpec,
    records: jsonata.default('$').meta({
      description:
        'Where the records are in the response body (JSONata). A missing path is an empty page (Ticketmaster omits `_embedded` when nothing matches); an object is one record.',
    }),
    add_fields: z.record(z.string(), template).default({}).meta({
      description:
        'Fields added to every record, rendered from templates per request, so fan-out records keep their parent (e.g. `venue_id: "{{ parent.id }}"`).',
    }),
    expect: jsonata.optional().meta({
      description:
        'A JSONata condition every response body must satisfy (e.g. `$exists(page)`); a body that fails it does not match (see `on_malformed`).',
    }),
    pagination: restPaginationSpec.default({ type: 'none' }),
    incremental: restIncrementalSpec.optional(),
    parents: restParentsSpec.optional(),
    retry: restRetrySpec.default({ attempts: 5, initial: 1000, max: 60_000 }),
    on_malformed: z.enum(['fail', 'dead_letter']).default('fail').meta({
      description:
        'A response that does not match (not JSON, fails `expect`, or a 4xx other than 401, 403 and 429): `fail` the run (retried from the same page), or `dead_letter` it and go on with the next unit. Records that are not objects or fail `schema` are dead-lettered one by one either way.',
    }),
    schema: schemaRef.optional(),
    source_time: sourceTimeField.optional(),
    description: z.string().optional(),
  })
  .meta({ title: 'rest source', description: 'Pages of a REST API, pulled on a schedule by one ingest-api replica at a time.' });

/** A parsed rest source declaration. */
export type RestSourceSpec = z.output<typeof restSourceSpec>;
