import { parseDuration } from '@tributary/contract/spec';
import { ALERT_DEFAULTS, ALERT_RULES, monitorForMs, type AlertRuleSpec } from './alert-catalogue';
import { AlertEngine } from './alert-engine';
import type { AlertCondition } from './alert-rules';

const lag = (value: number): AlertCondition => ({
  alert: 'TributaryConsumerLag',
  labels: { pipeline: 'p', stage: 'loader' },
  severity: 'warning',
  summary: `${value} waiting`,
  value,
});

describe('AlertEngine', () => {
  it('keeps a new condition pending until it held for the `for` duration, then fires it once', () => {
    const e = new AlertEngine(1_000);
    expect(e.update([lag(5)], 0)).toEqual([]);
    expect(e.list()[0]).toMatchObject({ state: 'pending', activeSince: 0 });
    expect(e.update([lag(6)], 999)).toEqual([]);
    const fired = e.update([lag(7)], 1_000);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({
      status: 'firing',
      at: 1_000,
      alert: { state: 'firing', value: 7, summary: '7 waiting', firedAt: 1_000 },
    });
    expect(e.update([lag(8)], 2_000)).toEqual([]);
  });

  it('resolves a firing alert when its condition stops holding, and drops a pending one silently', () => {
    const e = new AlertEngine(1_000);
    e.update([lag(5)], 0);
    e.update([lag(5)], 1_000);
    const resolved = e.update([], 1_500);
    expect(resolved).toEqual([expect.objectContaining({ status: 'resolved', at: 1_500 })]);
    expect(e.list()).toEqual([]);

    e.update([lag(5)], 2_000);
    expect(e.update([], 2_500)).toEqual([]);
  });

  it('tracks alerts with different labels separately', () => {
    const e = new AlertEngine(0);
    const other = { ...lag(1), labels: { pipeline: 'p', stage: 'transformer' } };
    expect(e.update([lag(1), other], 0).map((t) => t.alert.labels.stage)).toEqual(['loader', 'transformer']);
    expect(e.update([other], 1).map((t) => [t.status, t.alert.labels.stage])).toEqual([['resolved', 'loader']]);
  });

  it('fires at once with a zero `for`', () => {
    expect(new AlertEngine(0).update([lag(1)], 0)).toHaveLength(1);
  });

  it("holds each alert for its own rule's `for`", () => {
    const e = new AlertEngine((alert) => (alert === 'TributaryConsumerLag' ? 1_000 : 0));
    const other: AlertCondition = { ...lag(1), alert: 'TributarySourceFailing', labels: { pipeline: 'p', source: 's' } };
    expect(e.update([lag(5), other], 0).map((t) => t.alert.alert)).toEqual(['TributarySourceFailing']);
    expect(e.update([lag(5), other], 1_000).map((t) => t.alert.alert)).toEqual(['TributaryConsumerLag']);
  });
});

describe('monitorForMs', () => {
  it("takes each rule's `for` from the catalogue, MONITOR_ALERT_FOR standing in for the default", () => {
    expect(monitorForMs('TributaryMonitorStatusDown', 1_000)).toBe(300_000);
    expect(monitorForMs('TributarySourceFailing', 1_000)).toBe(0);
    expect(monitorForMs('TributaryConsumerLag', 1_234)).toBe(1_234);
    expect(monitorForMs('NotInTheCatalogue', 1_234)).toBe(1_234);
  });

  it('holds every rule the monitor evaluates exactly as long as its Prometheus rule when MONITOR_ALERT_FOR is the default', () => {
    const monitored = (ALERT_RULES as readonly AlertRuleSpec[]).filter((r) => r.monitor);
    expect(monitored.filter((r) => r.for !== ALERT_DEFAULTS.for).length).toBeGreaterThanOrEqual(2);
    for (const r of monitored)
      expect([r.alert, monitorForMs(r.alert, parseDuration(ALERT_DEFAULTS.for))]).toEqual([
        r.alert,
        r.for === undefined ? 0 : parseDuration(r.for),
      ]);
  });
});
