/**
 * Real Prometheus alerting: Debian's `prometheus` (2.42) scrapes the four services with the very
 * rule file the chart ships (charts/tributary/files/prometheus-rules.yaml, unchanged: its `for:
 * 1m` and its thresholds), and Debian's `prometheus-alertmanager` (0.25) routes to a webhook.
 * Stopping the loader under load fires TributaryConsumerLag for the loader through Alertmanager;
 * restarting it resolves the alert there. About three minutes (the rule's `for` is one), hence slow.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureTestTool, freePort, stopAll, waitFor } from '@tributary/testkit';
import { stringify } from 'yaml';
import { HttpReceiver } from '../e2e/alert-receivers';
import { ndjson } from '../e2e/passages';
import type { Stack } from '../e2e/stack';
import { startStack } from '../e2e/start-stack';

const ROOT = path.resolve(__dirname, '../..');
const PROMETHEUS = '/usr/bin/prometheus';
const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';
const RULES = path.join(ROOT, 'charts/tributary/files/prometheus-rules.yaml');

/** Alertmanager's webhook payload (the fields this test reads). */
interface WebhookBody {
  status: 'firing' | 'resolved';
  alerts: { status: 'firing' | 'resolved'; labels: Record<string, string> }[];
}

describe('Prometheus and Alertmanager', () => {
  let stack: Stack;
  let hook: HttpReceiver;
  let dir: string;
  const procs: ChildProcess[] = [];
  let promUrl = '';

  /** Starts a server binary with its output in `dir`; waits until `readyUrl` answers 200. */
  async function server(bin: string, args: string[], name: string, readyUrl: string): Promise<void> {
    const log = openSync(path.join(dir, `${name}.log`), 'a');
    const p = spawn(bin, args, { stdio: ['ignore', log, log] });
    procs.push(p);
    await waitFor(async () => (await fetch(readyUrl)).ok, {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: `${name} to be ready (log: ${path.join(dir, `${name}.log`)})`,
    });
  }

  /** Alerts with `alertname` and `labels` that Alertmanager delivered to the webhook with `status`. */
  const delivered = (status: 'firing' | 'resolved', alertname: string, labels: Record<string, string>) =>
    hook.received
      .flatMap((r) => (r.body as WebhookBody).alerts)
      .filter(
        (a) => a.status === status && a.labels.alertname === alertname && Object.entries(labels).every(([k, v]) => a.labels[k] === v),
      );

  beforeAll(async () => {
    ensureTestTool(PROMETHEUS);
    ensureTestTool(ALERTMANAGER);
    dir = mkdtempSync(path.join(tmpdir(), 'trib-prometheus-'));
    hook = await HttpReceiver.start();
    stack = await startStack({ env: { MONITOR_REFRESH: '250ms', LOG_LEVEL: 'warn' } });

    const [amPort, amCluster, promPort] = [await freePort(), await freePort(), await freePort()];
    writeFileSync(
      path.join(dir, 'alertmanager.yml'),
      stringify({
        route: {
          receiver: 'hook',
          group_by: ['alertname', 'pipeline', 'stage'],
          group_wait: '1s',
          group_interval: '1s',
          repeat_interval: '1h',
        },
        receivers: [{ name: 'hook', webhook_configs: [{ url: `${hook.url}/alertmanager`, send_resolved: true }] }],
      }),
    );
    await server(
      ALERTMANAGER,
      [
        `--config.file=${path.join(dir, 'alertmanager.yml')}`,
        `--storage.path=${path.join(dir, 'am-data')}`,
        `--web.listen-address=127.0.0.1:${amPort}`,
        // A single replica: the gossip port on loopback only, never the default 0.0.0.0:9094.
        `--cluster.listen-address=127.0.0.1:${amCluster}`,
      ],
      'alertmanager',
      `http://127.0.0.1:${amPort}/-/ready`,
    );
    const targets = (['ingest-api', 'transformer', 'loader', 'monitor'] as const).map((s) => stack.url(s).replace('http://', ''));
    writeFileSync(
      path.join(dir, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: [RULES],
        alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] },
        scrape_configs: [{ job_name: 'tributary', static_configs: [{ targets }] }],
      }),
    );
    promUrl = `http://127.0.0.1:${promPort}`;
    await server(
      PROMETHEUS,
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'prom-data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      'prometheus',
      `${promUrl}/-/ready`,
    );
  }, 180_000);

  afterAll(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((r) => p.once('exit', r)) : undefined)));
    await stack?.stopAll();
    await hook?.close();
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fires the loader lag alert through Alertmanager while the loader is stopped under load, and resolves it after its restart', async () => {
    // Prometheus scrapes all four services.
    await waitFor(
      async () => {
        const r = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as { data: { activeTargets: { health: string }[] } };
        return r.data.activeTargets.length === 4 && r.data.activeTargets.every((t) => t.health === 'up');
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'the four services scraped' },
    );

    await stack.stop('loader');
    // Load: one message per push, until the loader's backlog passes the rule's 1000 messages and
    // the alert fired (bounded: at most 5,000 pushes).
    let pushes = 0;
    let loading = true;
    const load = (async () => {
      while (loading && pushes < 5_000) {
        const r = await stack.push('gantry', ndjson(pushes * 5, 5), { 'idempotency-key': `prom-${pushes}` });
        if (r.status !== 202) throw new Error(`push answered ${r.status}`);
        pushes++;
      }
    })();
    const lag = { pipeline: 'traffic', stage: 'loader' };
    try {
      await waitFor(async () => delivered('firing', 'TributaryConsumerLag', lag).length > 0, {
        timeoutMs: 180_000,
        intervalMs: 500,
        what: 'TributaryConsumerLag for the loader delivered by Alertmanager',
      });
    } finally {
      loading = false;
      await load;
    }
    expect(pushes).toBeGreaterThan(1000);
    expect(delivered('resolved', 'TributaryConsumerLag', lag)).toEqual([]);

    await stack.startService('loader');
    await waitFor(async () => delivered('resolved', 'TributaryConsumerLag', lag).length > 0, {
      timeoutMs: 180_000,
      intervalMs: 500,
      what: 'TributaryConsumerLag for the loader resolved through Alertmanager',
    });
    // Nothing was lost while the loader was down: every accepted passage is loaded, filtered or dead-lettered.
    await waitFor(
      async () => {
        const s = await stack.status();
        const settled = s.tables.fact_passage.loaded + s.filtered + s.dead_lettered.transform + s.dead_lettered.load;
        if (s.received === pushes * 5 && settled === s.accepted) return true;
        throw new Error(`pushed ${pushes * 5}, received ${s.received}, accepted ${s.accepted}, settled ${settled}`);
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'every pushed passage accounted for' },
    );
    // The rule file under test is the one the chart ships.
    expect(readFileSync(RULES, 'utf8')).toContain('alert: TributaryConsumerLag');
  }, 480_000);
});
