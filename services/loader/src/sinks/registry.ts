/**
 * The sink kinds, by name. A test checks this list against core's SINK_SPECS and SINK_MODES and
 * the files in this folder; the type below checks each module's shape, so no caller casts.
 */
import type { SINK_SPECS } from '@tributary/contract/spec';
import * as clickhouse from './clickhouse';
import * as postgres from './postgres';
import type { SinkKind } from '../sink';

/** Every sink kind implementation. */
export const SINKS = { postgres, clickhouse } as const satisfies { [K in keyof typeof SINK_SPECS]: SinkKind<(typeof SINK_SPECS)[K]> };
