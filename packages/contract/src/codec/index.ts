/**
 * @tributary/contract/codec: the NDJSON codec of message bodies.
 */
export { NDJSON, encodeNdjson, encodeLine, decodeNdjson, type Rec } from './ndjson';
