/**
 * @tributary/contract/wire: what travels on NATS: subjects, streams, headers, message IDs, dead letters, previews.
 */
export { H, makeHeaders, header, numberHeader, type Headers } from './headers';
export { STREAMS, subjects, subjectTokens, consumers, BUCKETS, type Stage } from './subjects';
export { toSourceTime, sourceTimeFromMicros, sourceTimeFromMs, oldestSourceTime, sourceTimeMs, sourceTimeHeader } from './source-time';
export { previewOutcome, type PreviewRequest, type PreviewError, type PreviewResult, type PreviewReply } from './preview';
export { TXN_HEADERS, cdcGroupOf, txnHeaders, txnGroupHeader, type TxnGroup } from './source-txn';
