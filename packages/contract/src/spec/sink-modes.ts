/** The load modes each sink kind takes (the sink kinds are in table-sink.ts, the modes in tables.ts). */
import type { SinkKind } from './table-sink';
import type { LoadMode } from './modes/registry';

/**
 * The load modes each sink kind takes; `validate` refuses a table that asks its sink for another.
 * ClickHouse takes the real-time modes only (see table-sink.ts).
 */
export const SINK_MODES = {
  postgres: ['append', 'upsert', 'aggregate', 'scd2', 'accumulating'],
  clickhouse: ['append', 'aggregate'],
} as const satisfies Record<SinkKind, readonly LoadMode[]>;

/** Load modes a ClickHouse sink takes. */
export const CLICKHOUSE_MODES = SINK_MODES.clickhouse;
