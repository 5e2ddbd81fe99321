/**
 * Alerts end to end: with a 2 s freshness SLA and a 1 s `for`, stopping the loader raises the
 * consumer-lag, freshness and service-down alerts, and restarting it resolves them; each firing
 * and each resolve reaches a Slack-style webhook, an SMTP server and Alertmanager's API, all real
 * servers on loopback. An incompatible schema change raises the blocked-table alert until the
 * spec is compatible again.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from '@tributary/testkit';
import { z } from 'zod';
import { HttpReceiver, SmtpReceiver } from './alert-receivers';
import { ndjson } from './passages';
import type { Stack } from './stack';
import { startStack } from './start-stack';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '../..');

/** Alertmanager's `POST /api/v2/alerts` body (postableAlerts in its OpenAPI spec). */
const postableAlerts = z.array(
  z.object({
    labels: z.record(z.string(), z.string()).refine((l) => typeof l.alertname === 'string', 'labels.alertname is required'),
    annotations: z.record(z.string(), z.string()).optional(),
    startsAt: z.iso.datetime().optional(),
    endsAt: z.iso.datetime().optional(),
    generatorURL: z.url().optional(),
  }),
);

/** Slack incoming-webhook body with Tributary's data beside it. */
const slackBody = z.object({
  text: z.string().min(1),
  attachments: z.array(z.object({ color: z.string(), title: z.string(), text: z.string() })).min(1),
  tributary: z.object({ status: z.enum(['firing', 'resolved']), alert: z.string(), labels: z.record(z.string(), z.string()) }),
});

describe('alerts', () => {
  let stack: Stack;
  let webhook: HttpReceiver;
  let alertmanager: HttpReceiver;
  let smtp: SmtpReceiver;
  let dir: string;

  const hooks = (alert: string, status: 'firing' | 'resolved', labels: Record<string, string> = {}) =>
    webhook.received.filter(
      (r) =>
        r.body?.tributary?.alert === alert &&
        r.body.tributary.status === status &&
        Object.entries(labels).every(([k, v]) => r.body.tributary.labels[k] === v),
    );
  const mails = (alert: string, status: 'FIRING' | 'RESOLVED') => smtp.mails.filter((m) => m.subject.startsWith(`[${status}] ${alert} `));
  const amAlerts = (alert: string) => alertmanager.received.flatMap((r) => r.body as any[]).filter((a) => a.labels.alertname === alert);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'trib-alerts-'));
    cpSync(path.join(ROOT, 'pipelines/schemas'), path.join(dir, 'schemas'), { recursive: true });
    const yaml = readFileSync(path.join(ROOT, 'pipelines/traffic.yaml'), 'utf8').replace(/freshness: \S+/, 'freshness: 2s');
    writeFileSync(path.join(dir, 'traffic.yaml'), yaml);
    [webhook, alertmanager, smtp] = await Promise.all([HttpReceiver.start(), HttpReceiver.start(), SmtpReceiver.start()]);
    stack = await startStack({
      pipelines: dir,
      env: {
        MONITOR_REFRESH: '250ms',
        MONITOR_ALERT_INTERVAL: '500ms',
        MONITOR_ALERT_FOR: '1s',
        MONITOR_ALERT_LAG_MESSAGES: '0',
        MONITOR_ALERT_WEBHOOKS: `${webhook.url}/hooks/slack`,
        MONITOR_ALERT_SMTP_URL: smtp.url,
        MONITOR_ALERT_EMAIL_FROM: 'tributary@example.test',
        MONITOR_ALERT_EMAIL_TO: 'oncall@example.test',
        MONITOR_ALERTMANAGER_URL: alertmanager.url,
        MONITOR_ALERTMANAGER_RESEND: '2s',
        MONITOR_PUBLIC_URL: 'http://tributary.example.test',
      },
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stopAll();
    await Promise.all([webhook?.close(), alertmanager?.close(), smtp?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('raises lag, freshness and service-down alerts while the loader is stopped, and resolves them after its restart', async () => {
    await stack.stop('loader');
    const r = await stack.push('gantry', ndjson(0, 50), { 'idempotency-key': 'alerts-1' });
    expect(r.status).toBe(202);

    const loaderLag = { pipeline: 'traffic', stage: 'loader' };
    await waitFor(
      async () =>
        hooks('TributaryConsumerLag', 'firing', loaderLag).length > 0 &&
        hooks('TributaryFreshnessBreach', 'firing', { pipeline: 'traffic' }).length > 0 &&
        hooks('TributaryServiceDown', 'firing', { service: 'loader' }).length > 0 &&
        mails('TributaryConsumerLag', 'FIRING').length > 0 &&
        mails('TributaryFreshnessBreach', 'FIRING').length > 0 &&
        amAlerts('TributaryConsumerLag').length > 0 &&
        amAlerts('TributaryFreshnessBreach').length > 0,
      { timeoutMs: 30_000, intervalMs: 200, what: 'lag, freshness and service-down alerts at webhook, SMTP and Alertmanager' },
    );
    // Firing once per episode, not once per evaluation.
    expect(hooks('TributaryFreshnessBreach', 'firing')).toHaveLength(1);
    // Nothing about the services that kept running.
    expect(webhook.received.filter((x) => x.body.tributary.labels.service && x.body.tributary.labels.service !== 'loader')).toEqual([]);

    await stack.startService('loader');
    await waitFor(
      async () =>
        hooks('TributaryConsumerLag', 'resolved', loaderLag).length > 0 &&
        hooks('TributaryFreshnessBreach', 'resolved', { pipeline: 'traffic' }).length > 0 &&
        hooks('TributaryServiceDown', 'resolved', { service: 'loader' }).length > 0 &&
        mails('TributaryConsumerLag', 'RESOLVED').length > 0 &&
        mails('TributaryFreshnessBreach', 'RESOLVED').length > 0,
      { timeoutMs: 60_000, intervalMs: 200, what: 'the alerts to resolve at webhook and SMTP' },
    );
    const rows = await stack.query<{ n: number }>('SELECT count(*)::int AS n FROM warehouse.fact_passage');
    expect(rows[0]!.n).toBeGreaterThan(0);

    // What each receiver got is in its documented shape.
    for (const h of webhook.received) {
      expect(h.path).toBe('/hooks/slack');
      slackBody.parse(h.body);
    }
    const breach = hooks('TributaryFreshnessBreach', 'firing')[0]!.body;
    expect(breach.text).toMatch(/FIRING TributaryFreshnessBreach: traffic: warehouse data is .* behind ingest \(SLA 2 s\)/);
    expect(breach.attachments[0].title_link).toBe('http://tributary.example.test/alerts');

    const mail = mails('TributaryFreshnessBreach', 'FIRING')[0]!;
    expect(mail.from).toBe('tributary@example.test');
    expect(mail.to).toEqual(['oncall@example.test']);
    expect(mail.raw).toContain('http://tributary.example.test/alerts');

    for (const post of alertmanager.received) {
      expect(post.path).toBe('/api/v2/alerts');
      postableAlerts.parse(post.body);
    }
    // The last word Alertmanager got about the freshness breach ends it (endsAt not in the future).
    await waitFor(
      async () => {
        const last = amAlerts('TributaryFreshnessBreach').at(-1);
        return last && Date.parse(last.endsAt) <= Date.now();
      },
      { timeoutMs: 10_000, what: 'a resolve (endsAt now) at Alertmanager' },
    );
    const last = amAlerts('TributaryFreshnessBreach').at(-1);
    expect(last.labels).toMatchObject({ alertname: 'TributaryFreshnessBreach', severity: 'critical', pipeline: 'traffic' });

    // The dashboard's history has both transitions.
    const hist = (await (await fetch(`${stack.url('monitor')}/api/alerts`)).json()) as { history: { alert: string; status: string }[] };
    const breaches = hist.history.filter((e) => e.alert === 'TributaryFreshnessBreach').map((e) => e.status);
    expect(breaches).toEqual(['resolved', 'firing']);
  });

  it('raises a critical alert while an incompatible schema change stops a table, and resolves it once the spec is compatible again', async () => {
    const file = path.join(dir, 'traffic.yaml');
    const compatible = readFileSync(file, 'utf8');
    const incompatible = compatible.replace(/^(\s+)lane: integer$/m, '$1lane: boolean');
    expect(incompatible).not.toBe(compatible);
    writeFileSync(file, incompatible);
    await stack.cli(['migrate']);
    const labels = { pipeline: 'traffic', table: 'fact_passage' };
    await waitFor(async () => hooks('TributaryTableBlocked', 'firing', labels).length > 0, {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'the blocked-table alert at the webhook',
    });
    const firing = hooks('TributaryTableBlocked', 'firing', labels)[0]!.body;
    expect(firing.text).toMatch(
      /FIRING TributaryTableBlocked: traffic: table fact_passage is stopped by an incompatible schema change.*lane/,
    );
    // Each sink is notified on its own: Alertmanager's copy may arrive a moment after the webhook's.
    await waitFor(async () => amAlerts('TributaryTableBlocked').length > 0, {
      timeoutMs: 10_000,
      what: 'the blocked-table alert at Alertmanager',
    });
    expect(amAlerts('TributaryTableBlocked')[0].labels).toMatchObject({ severity: 'critical', ...labels });

    writeFileSync(file, compatible);
    await stack.cli(['migrate']);
    await waitFor(async () => hooks('TributaryTableBlocked', 'resolved', labels).length > 0, {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'the blocked-table alert to resolve',
    });
  });
});
