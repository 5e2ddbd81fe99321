/**
 * What an alert rule returns: a condition that holds now. Its own file so the rule files
 * (alert-rules.ts and source-rules.ts) can share it without importing each other.
 */
import type { Severity } from '@tributary/contract/monitor-api';

export type { Severity } from '@tributary/contract/monitor-api';

/** A condition that holds now. */
export interface AlertCondition {
  /** Alert name, as in the Prometheus rules file. */
  alert: string;
  labels: Record<string, string>;
  severity: Severity;
  summary: string;
  value: number;
}
