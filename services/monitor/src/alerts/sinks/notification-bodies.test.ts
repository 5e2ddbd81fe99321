import type { AlertTransition } from '../alert-engine';
import { alertmanagerBody } from './alertmanager-sink';
import { emailContent } from './email-sink';
import { webhookBody } from './webhook-sink';

const t = (status: 'firing' | 'resolved'): AlertTransition => ({
  status,
  at: Date.UTC(2026, 0, 1, 0, 1),
  alert: {
    fingerprint: 'TributaryFreshnessBreach{pipeline=traffic}',
    alert: 'TributaryFreshnessBreach',
    labels: { pipeline: 'traffic' },
    severity: 'critical',
    summary: 'traffic: warehouse data is 9 s behind ingest (SLA 2 s)',
    value: 9,
    state: 'firing',
    activeSince: Date.UTC(2026, 0, 1),
    firedAt: Date.UTC(2026, 0, 1, 0, 0, 1),
  },
});

describe('notification bodies', () => {
  it('webhook: Slack text and attachment, and the alert as data', () => {
    const b = webhookBody(t('firing'), 'https://mon.example/') as any;
    expect(b.text).toBe(':red_circle: FIRING TributaryFreshnessBreach: traffic: warehouse data is 9 s behind ingest (SLA 2 s)');
    expect(b.attachments[0]).toMatchObject({ color: '#d1242f', title_link: 'https://mon.example/alerts' });
    expect(b.tributary).toMatchObject({ status: 'firing', starts_at: '2026-01-01T00:00:01.000Z' });
    expect((webhookBody(t('resolved'), 'x') as any).tributary.ends_at).toBe('2026-01-01T00:01:00.000Z');
  });

  it('alertmanager: labels with alertname and severity; endsAt ahead while firing, now when resolved', () => {
    const [firing] = alertmanagerBody([t('firing')], 'https://mon.example', 60_000);
    expect(firing).toMatchObject({
      labels: { alertname: 'TributaryFreshnessBreach', severity: 'critical', pipeline: 'traffic' },
      endsAt: '2026-01-01T00:05:00.000Z',
    });
    expect(alertmanagerBody([t('resolved')], 'x', 60_000)[0]!.endsAt).toBe('2026-01-01T00:01:00.000Z');
  });

  it('email: the status and alert in the subject, HTML escaped', () => {
    const e = emailContent({ ...t('resolved'), alert: { ...t('resolved').alert, summary: '<b>x</b>' } }, 'https://mon.example');
    expect(e.subject).toBe('[RESOLVED] TributaryFreshnessBreach (pipeline=traffic)');
    expect(e.html).toContain('&lt;b&gt;x&lt;/b&gt;');
    expect(e.text).toContain('https://mon.example/alerts');
  });
});
