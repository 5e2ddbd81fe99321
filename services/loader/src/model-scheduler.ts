/**
 * Runs a pipeline's SQL models and checks inside the loader: all once at start, then, every
 * interval, the models downstream of the tables that loads wrote to since the last round (in
 * dependency order) and the checks reading any of them; plus models with a cron `schedule`.
 * Results go to `tributary.model_runs` / `tributary.check_results` and to Prometheus.
 */
import { Cron } from 'croner';
import { downstreamOf, type Check, type Model, type Pipeline } from '@tributary/contract/spec';
import { expandChecks, runChecks, type CheckResult } from '@tributary/warehouse/checks';
import { runModels } from '@tributary/warehouse/models';
import { PeriodicTask } from '@tributary/runtime/periodic-task';
import { type Logger } from '@tributary/runtime/logger';
import type { Pool } from 'pg';
import { Counter, Gauge, type Registry } from 'prom-client';

/** Prometheus instruments of models and checks (one set per registry). */
export function modelMetrics(registry: Registry) {
  return {
    modelRuns: new Counter({
      name: 'tributary_model_runs_total',
      help: 'SQL model runs by outcome.',
      labelNames: ['pipeline', 'model', 'status'],
      registers: [registry],
    }),
    checkFailed: new Gauge({
      name: 'tributary_check_failed',
      help: 'Whether the last run of a data-quality check failed or could not run (1) or passed (0).',
      labelNames: ['pipeline', 'check', 'severity'],
      registers: [registry],
    }),
    checkFailingRows: new Gauge({
      name: 'tributary_check_failing_rows',
      help: 'Rows the last run of a data-quality check found failing.',
      labelNames: ['pipeline', 'check', 'severity'],
      registers: [registry],
    }),
  };
}

/** Schedules one pipeline's models and checks. */
export class ModelScheduler {
  private readonly models: Model[];
  private readonly checks: Check[];
  private dirty = new Set<string>();
  private task: PeriodicTask | undefined;
  private crons: Cron[] = [];
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly pool: Pool,
    private readonly pipeline: Pipeline,
    private readonly metrics: ReturnType<typeof modelMetrics>,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {
    this.models = pipeline.warehouse?.models ?? [];
    this.checks = expandChecks(pipeline.warehouse?.checks ?? []);
  }

  /** Whether there is anything to run. */
  get active(): boolean {
    return this.models.length > 0 || this.checks.length > 0;
  }

  /** Notes tables that a committed load wrote to. */
  markLoaded(tables: Iterable<string>): void {
    for (const t of tables) this.dirty.add(t);
  }

  /** Runs everything once, then starts the interval and cron schedules. */
  start(): void {
    if (!this.active) return;
    void this.enqueue(() => this.round(this.models, this.checks, 'start'));
    this.task = new PeriodicTask({
      intervalMs: this.intervalMs,
      unref: true,
      onError: (err) => this.logger.error({ err }, 'model round failed'),
      run: () => {
        if (this.dirty.size === 0) return Promise.resolve();
        const tables = this.dirty;
        this.dirty = new Set();
        const models = downstreamOf(
          this.models.filter((m) => m.after_load),
          tables,
        );
        const touched = new Set([...tables, ...models.map((m) => m.name)]);
        return this.enqueue(() =>
          this.round(
            models,
            this.checks.filter((c) => c.reads.some((r) => touched.has(r))),
            'load',
          ),
        );
      },
    });
    this.task.start();
    for (const m of this.models.filter((x) => x.schedule)) {
      this.crons.push(
        new Cron(m.schedule!, { protect: true }, () => {
          const models = [m, ...downstreamOf(this.models, [m.name])];
          const names = new Set(models.map((x) => x.name));
          void this.enqueue(() =>
            this.round(
              models,
              this.checks.filter((c) => c.reads.some((r) => names.has(r))),
              'schedule',
            ),
          );
        }),
      );
    }
  }

  /** Stops scheduling and waits for the round in progress. */
  async stop(): Promise<void> {
    for (const c of this.crons) c.stop();
    await this.task?.stop();
    await this.running;
  }

  /** Rounds run one after another, never overlapping; the promise settles when this one has run. */
  private enqueue(fn: () => Promise<void>): Promise<void> {
    this.running = this.running.then(fn).catch((err: unknown) => this.logger.error({ err }, 'model round failed'));
    return this.running;
  }

  private async round(models: Model[], checks: Check[], trigger: string): Promise<void> {
    for (const r of await runModels(this.pool, this.pipeline.name, models, trigger)) {
      this.metrics.modelRuns.inc({ pipeline: this.pipeline.name, model: r.model, status: r.status });
      if (r.status === 'error') this.logger.error({ model: r.model, error: r.error }, 'model run failed');
    }
    if (checks.length > 0) this.report(await runChecks(this.pool, this.pipeline.name, checks));
  }

  private report(results: CheckResult[]): void {
    for (const r of results) {
      const labels = { pipeline: r.pipeline, check: r.name, severity: r.severity };
      this.metrics.checkFailed.set(labels, r.status === 'pass' ? 0 : 1);
      this.metrics.checkFailingRows.set(labels, r.failingRows);
      if (r.status !== 'pass')
        this.logger.warn({ check: r.name, severity: r.severity, failing: r.failingRows, error: r.error }, 'check failed');
    }
  }
}
