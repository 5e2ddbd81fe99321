/**
 * Metrics of the PostgreSQL sources, registered once per service registry.
 */
import { Gauge, type Registry } from 'prom-client';

const SLOT_LAG = 'tributary_cdc_slot_lag_bytes';

/** `tributary_cdc_slot_lag_bytes{pipeline,source,slot}`: WAL the server keeps for the slot. */
export function slotLagGauge(registry: Registry): Gauge<'pipeline' | 'source' | 'slot'> {
  const existing = registry.getSingleMetric(SLOT_LAG) as Gauge<'pipeline' | 'source' | 'slot'> | undefined;
  return (
    existing ??
    new Gauge({
      name: SLOT_LAG,
      help: 'Bytes of WAL PostgreSQL retains for a postgres_cdc replication slot (current WAL position minus the confirmed flush position).',
      labelNames: ['pipeline', 'source', 'slot'],
      registers: [registry],
    })
  );
}
