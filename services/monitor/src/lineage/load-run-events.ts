/**
 * OpenLineage run events for loads, from what the loader announces after each commit on
 * `trib.loaded.<pipeline>.<table>` (START at the transaction's start, COMPLETE at the commit) and
 * from whole messages the loader dead-lettered (START and FAIL). Pure: built and tested without I/O.
 *
 * Naming follows OpenLineage's conventions: the job is `<pipeline>.load.<table>` in the
 * configured namespace; the input is the processed subject in `nats://<server>`; the output is
 * `<database>.warehouse.<table>` in `postgres://<host>:<port>`. A `tributary` run facet carries
 * the trace ID and the stream sequence range, so a run links to its trace and its messages, and the
 * models that scored the loaded records (`model` steps), so every score says which model made it.
 */
import { createHash } from 'node:crypto';
import { OPENLINEAGE_SCHEMA_URL, type RunEvent } from './openlineage-model';

/** The producer URI of Tributary's events (a URN: the project has no canonical public URL). */
export const PRODUCER = 'urn:tributary:monitor';
/** Schema of the custom `tributary` run facet (described in docs/METRICS.md). */
const FACET_SCHEMA = 'urn:tributary:facets:TributaryRunFacet:1';
const ERROR_FACET = 'https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet';
const STATS_FACET =
  'https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet';

/** Where events point: job namespace and the dataset namespaces of NATS and PostgreSQL. */
export interface LineageNaming {
  namespace: string;
  natsNamespace: string;
  postgresNamespace: string;
  database: string;
}

/** One load, as the loader announced it (body of a TRIB_LOADED message) plus what the monitor adds. */
export interface LoadNotice {
  pipeline: string;
  table: string;
  dataset: string;
  messages: number;
  records: number;
  written: number;
  firstSeq: number;
  lastSeq: number;
  /** ISO time of the commit. */
  loadedAt: string;
  /** ISO time the load transaction started (the ledger's loaded_at), when known. */
  startedAt?: string;
  traceId?: string;
  /** Models that scored the loaded records (`<name>@<version> sha256:<hex>`), from the messages' `Trib-Model`. */
  models?: string[];
}

/** A UUID derived from `key` (name-based, RFC 9562 version 5 layout): the same load always gets the same run ID. */
export function runIdOf(key: string): string {
  const b = createHash('sha1').update(`tributary:${key}`).digest();
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = b.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function tributaryFacet(n: {
  traceId?: string;
  firstSeq?: number;
  lastSeq?: number;
  messages: number;
  records: number;
  models?: string[];
}) {
  return {
    _producer: PRODUCER,
    _schemaURL: FACET_SCHEMA,
    ...(n.traceId ? { traceId: n.traceId } : {}),
    ...(n.firstSeq !== undefined ? { streamSeqRange: { stream: 'TRIB_PROCESSED', first: n.firstSeq, last: n.lastSeq ?? n.firstSeq } } : {}),
    messages: n.messages,
    records: n.records,
    ...(n.models?.length ? { models: n.models } : {}),
  };
}

function datasets(naming: LineageNaming, pipeline: string, dataset: string, table: string) {
  return {
    input: { namespace: naming.natsNamespace, name: `trib.processed.${pipeline}.${dataset}` },
    output: { namespace: naming.postgresNamespace, name: `${naming.database}.warehouse.${table}` },
  };
}

/** START and COMPLETE events of a committed load. */
export function completedLoadEvents(n: LoadNotice, naming: LineageNaming): RunEvent[] {
  const runId = runIdOf(`${n.pipeline}/${n.table}/${n.firstSeq}-${n.lastSeq}/${n.messages}`);
  const job = { namespace: naming.namespace, name: `${n.pipeline}.load.${n.table}` };
  const { input, output } = datasets(naming, n.pipeline, n.dataset, n.table);
  const base = { producer: PRODUCER, schemaURL: OPENLINEAGE_SCHEMA_URL, job, inputs: [input] };
  const facets = { tributary: tributaryFacet(n) };
  return [
    { ...base, eventType: 'START', eventTime: n.startedAt ?? n.loadedAt, run: { runId, facets }, outputs: [output] },
    {
      ...base,
      eventType: 'COMPLETE',
      eventTime: n.loadedAt,
      run: { runId, facets },
      outputs: [{ ...output, outputFacets: { outputStatistics: { _producer: PRODUCER, _schemaURL: STATS_FACET, rowCount: n.written } } }],
    },
  ];
}

/** A load that failed: a whole message the loader dead-lettered. */
export interface FailedLoad {
  pipeline: string;
  dataset: string;
  tables: string[];
  seq?: number;
  msgId: string;
  records: number;
  error: string;
  failedAt: string;
  traceId?: string;
}

/** START and FAIL events, one run per table the message fed. */
export function failedLoadEvents(f: FailedLoad, naming: LineageNaming): RunEvent[] {
  return f.tables.flatMap((table): RunEvent[] => {
    const runId = runIdOf(`${f.pipeline}/${table}/failed/${f.msgId}`);
    const job = { namespace: naming.namespace, name: `${f.pipeline}.load.${table}` };
    const { input, output } = datasets(naming, f.pipeline, f.dataset, table);
    const base = { producer: PRODUCER, schemaURL: OPENLINEAGE_SCHEMA_URL, job, inputs: [input], outputs: [output], eventTime: f.failedAt };
    const trib = tributaryFacet({ traceId: f.traceId, firstSeq: f.seq, lastSeq: f.seq, messages: 1, records: f.records });
    return [
      { ...base, eventType: 'START', run: { runId, facets: { tributary: trib } } },
      {
        ...base,
        eventType: 'FAIL',
        run: {
          runId,
          facets: {
            tributary: trib,
            errorMessage: { _producer: PRODUCER, _schemaURL: ERROR_FACET, message: f.error, programmingLanguage: 'TypeScript' },
          },
        },
      },
    ];
  });
}
