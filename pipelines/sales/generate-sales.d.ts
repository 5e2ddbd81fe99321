/** Records of each operational table of the sales pipeline, keyed by source name. */
export type SalesData = Record<'staff' | 'address' | 'design' | 'currency' | 'counterparty' | 'sales_order', Record<string, unknown>[]>;
/** Generates the sales pipeline's operational data, deterministically for a seed. */
export function generateSales(opts?: { seed?: number; orders?: number }): SalesData;
