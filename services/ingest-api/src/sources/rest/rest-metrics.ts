/**
 * Metrics of rest sources, registered once per registry: requests by status, and the shared
 * budget's use (requests taken, time spent waiting for room) and the API's 429s, per connection.
 */
import { Counter, type Registry } from 'prom-client';

type Labels = 'pipeline' | 'connection';

/** The rest sources' counters in `registry`. */
export function restMetrics(registry: Registry) {
  const counter = <L extends string>(name: string, help: string, labelNames: L[]): Counter<L> =>
    (registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
  return {
    requests: counter(
      'tributary_rest_requests_total',
      'HTTP requests of rest sources by status code (`error` for network failures and timeouts), retries included.',
      ['pipeline', 'source', 'status'],
    ),
    budgetTaken: counter<Labels>(
      'tributary_rest_budget_taken_total',
      'Requests taken from a connection budget (shared by every source, pipeline and replica on the same API key).',
      ['pipeline', 'connection'],
    ),
    budgetWait: counter<Labels>(
      'tributary_rest_budget_wait_seconds_total',
      'Seconds rest requests waited for room in their connection budget (or for a pause the API asked for).',
      ['pipeline', 'connection'],
    ),
    rateLimited: counter<Labels>(
      'tributary_rest_rate_limited_total',
      'Answers 429 (Too Many Requests) from the API of a connection: with a budget that holds, this stays 0.',
      ['pipeline', 'connection'],
    ),
  };
}
