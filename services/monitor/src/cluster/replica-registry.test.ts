import { createLogger } from '@tributary/runtime/logger';
import { type HeartbeatBeat } from '@tributary/runtime/nats';
import { ReplicaRegistry } from './replica-registry';

const beat = (over: Partial<HeartbeatBeat> = {}): HeartbeatBeat => ({
  service: 'loader',
  instance: 'h/1/a',
  host: 'h',
  pid: 1,
  startedAt: 0,
  sentAt: 0,
  intervalMs: 1_000,
  rssBytes: 1,
  stopping: false,
  ...over,
});

function registry(): ReplicaRegistry {
  return new ReplicaRegistry({
    timeoutMs: 5_000,
    forgetMs: 60_000,
    expected: ['loader', 'transformer'],
    logger: createLogger('t', 'silent'),
  });
}

describe('ReplicaRegistry', () => {
  it('lists expected services even before their first heartbeat', () => {
    expect(registry().services(0)).toEqual([
      { service: 'loader', live: 0, replicas: [] },
      { service: 'transformer', live: 0, replicas: [] },
    ]);
  });

  it('reports a replica live while it beats, missing once silent past the timeout, stopped after a goodbye', () => {
    const r = registry();
    r.record(beat(), 0);
    r.record(beat({ instance: 'h/2/b', pid: 2 }), 0);
    expect(r.services(4_000)[0]).toMatchObject({ live: 2 });
    r.record(beat({ instance: 'h/2/b', pid: 2, stopping: true }), 5_000);
    const [loader] = r.services(6_000);
    expect(loader!.replicas.map((x) => [x.instance, x.state])).toEqual([
      ['h/1/a', 'missing'],
      ['h/2/b', 'stopped'],
    ]);
    expect(loader!.live).toBe(0);
  });

  it('reports a replica that says it is not ready, and forgets silent ones', () => {
    const r = registry();
    r.record(beat({ notReady: 'consumers not running' }), 0);
    expect(r.services(1_000)[0]!.replicas[0]).toMatchObject({ state: 'not_ready', not_ready: 'consumers not running' });
    expect(r.services(61_000)[0]!.replicas).toEqual([]);
  });

  it('is not warm until it listened for a heartbeat interval', () => {
    const r = registry();
    expect(r.warm(0)).toBe(false);
  });
});
