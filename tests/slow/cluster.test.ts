/**
 * Beyond one machine: a three-node JetStream cluster on loopback with R3 streams and KV buckets,
 * two replicas of every service, and records pushed at a steady rate through both ingest
 * replicas. One NATS node is SIGKILLed (a follower first, then the node leading TRIB_RAW): the
 * monitors report the cluster degraded (API, metric, alert) while records keep being accepted,
 * and healthy again once the node is restarted. After the load stops, the counting invariant of
 * docs/design.md holds and every record a client got 202 for is in the warehouse exactly once.
 */
import { waitFor } from '@tributary/testkit';
import { isFiltered, isInvalid, ndjson } from '../e2e/passages';
import { ClusterStack } from '../e2e/cluster-stack';

jest.setTimeout(8 * 60_000);

const BATCH = 100;
const FIRST = 7_000_000;

describe('three-node JetStream cluster', () => {
  let stack: ClusterStack;
  const report: string[] = [];
  const log = (line: string): void => {
    report.push(`${new Date().toISOString().slice(11, 23)} ${line}`);
  };

  beforeAll(async () => {
    const t = Date.now();
    stack = await ClusterStack.start({
      env: {
        // Batches whose ack was lost with a node come back quickly.
        TRIBUTARY_ACK_WAIT: '5s',
        MONITOR_ALERT_INTERVAL: '500ms',
        MONITOR_ALERT_FOR: '1s',
      },
    });
    log(`stack up in ${Date.now() - t} ms: NATS ${stack.nats.urls.join(' ')}, 2 replicas of each service`);
  }, 300_000);

  afterAll(async () => {
    for (const [name, procs] of stack?.procs ?? []) {
      for (const [i, p] of procs.entries()) report.push(`--- ${name} ${i + 1} log tail ---\n${p.logTail(8)}`);
    }
    process.stdout.write(`\ncluster report:\n${report.map((l) => `  ${l}`).join('\n')}\n`);
    await stack?.stopAll();
  });

  it('keeps every acknowledged record exactly once while a NATS node dies and comes back', async () => {
    const cluster = await stack.cluster(0);
    expect(cluster).toMatchObject({ clustered: true, degraded: false, reasons: [] });
    expect(cluster.meta_leader).toMatch(/^n[123]$/);
    expect(cluster.servers.map((s: any) => s.reachable)).toEqual([true, true, true]);
    for (const s of cluster.streams)
      expect({ stream: s.stream, replicas: s.replicas, current: s.current }).toEqual({ stream: s.stream, replicas: 3, current: 3 });

    // Two clients, one per ingest replica, each retrying a batch with its Idempotency-Key until
    // it gets 202 (from either replica), as the API docs ask.
    let next = FIRST;
    let stop = false;
    const acked: number[] = [];
    const refused = new Map<number, number>();
    const pusher = async (replica: number): Promise<void> => {
      while (!stop) {
        const from = next;
        next += BATCH;
        for (let attempt = 0; ; attempt++) {
          const r = await stack
            .push((replica + attempt) % 2, 'gantry', ndjson(from, BATCH), { 'idempotency-key': `cluster-${from}` })
            .catch(() => undefined);
          if (r?.status === 202) break;
          refused.set(r?.status ?? 0, (refused.get(r?.status ?? 0) ?? 0) + 1);
          await new Promise((res) => setTimeout(res, 200));
        }
        acked.push(from);
        await new Promise((res) => setTimeout(res, 100));
      }
    };
    const pushers = [pusher(0), pusher(1)];
    const records = (): number => acked.length * BATCH;
    const loaded = async (): Promise<number> => (await stack.query('SELECT count(*)::int AS n FROM warehouse.fact_passage'))[0]!.n;

    await waitFor(async () => (await loaded()) > 1_000, { timeoutMs: 120_000, intervalMs: 500, what: 'the first thousand records loaded' });
    log(`load running: ${records()} records acknowledged`);

    const fault = async (victim: number, why: string): Promise<void> => {
      const name = stack.nats.names[victim]!;
      const before = records();
      log(`SIGKILL NATS node ${name} (${why}); ${before} records acknowledged so far`);
      await stack.nats.kill(victim);
      const t = Date.now();

      // Both monitors see it: the server down, and its replicas offline once the leaders notice.
      for (const m of [0, 1]) {
        const c = await waitFor(
          async () => {
            const s = await stack.cluster(m);
            return s.degraded && s.streams.some((x: any) => x.offline > 0) ? s : undefined;
          },
          { timeoutMs: 60_000, intervalMs: 500, what: `monitor ${m + 1} to report ${name} offline` },
        );
        expect(c.servers.find((s: any) => s.address === stack.nats.urls[victim]!.replace('nats://', ''))).toMatchObject({
          reachable: false,
        });
        expect(c.reasons.join('\n')).toContain('unreachable');
        if (m === 0) log(`monitor reports degraded after ${Date.now() - t} ms: ${c.reasons.slice(0, 2).join('; ')}`);
      }
      const metrics = await (await fetch(`${stack.url('monitor', 1)}/metrics`)).text();
      expect(metrics).toMatch(/^tributary_nats_cluster_degraded\{[^}]*\} 1$/m);
      expect(metrics).toMatch(
        new RegExp(`^tributary_nats_server_up\\{server="127\\.0\\.0\\.1:${stack.nats.nodes[victim]!.port}"[^}]*\\} 0$`, 'm'),
      );
      const alert = await waitFor(
        async () => {
          const a = (await (await fetch(`${stack.url('monitor', 0)}/api/alerts`)).json()) as { active: any[] };
          return a.active.find((x) => x.alert === 'TributaryNatsClusterDegraded' && x.state === 'firing');
        },
        { timeoutMs: 30_000, intervalMs: 500, what: 'the TributaryNatsClusterDegraded alert to fire' },
      );
      log(`alert firing: ${alert.summary}`);

      // The two remaining nodes are a majority: records keep being accepted and loaded.
      const loadedBefore = await loaded();
      await waitFor(async () => records() >= before + 2_000 && (await loaded()) > loadedBefore, {
        timeoutMs: 120_000,
        intervalMs: 500,
        what: `records accepted and loaded with ${name} down`,
      });
      log(`with ${name} down: ${records() - before} more records acknowledged, loaded ${await loaded()}`);

      const t2 = Date.now();
      await stack.nats.restart(victim);
      log(`${name} restarted and current after ${Date.now() - t2} ms`);
      const healthy = await waitFor(
        async () => {
          const s = await stack.cluster(0);
          return !s.degraded && s.streams.every((x: any) => x.current === 3) ? s : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 500, what: `the cluster healthy again after restarting ${name}` },
      );
      expect(healthy.servers.every((s: any) => s.reachable)).toBe(true);
      await waitFor(
        async () => {
          const a = (await (await fetch(`${stack.url('monitor', 0)}/api/alerts`)).json()) as { active: any[] };
          return !a.active.some((x) => x.alert === 'TributaryNatsClusterDegraded');
        },
        { timeoutMs: 60_000, intervalMs: 500, what: 'the TributaryNatsClusterDegraded alert to resolve' },
      );
      log(`healthy again ${Date.now() - t2} ms after the restart (meta leader ${healthy.meta_leader})`);
    };

    // A follower of TRIB_RAW first, then the node leading it (and whatever else it leads).
    const leaderOf = async (): Promise<string> => (await stack.cluster(0)).streams.find((s: any) => s.stream === 'TRIB_RAW').leader;
    const rawLeader = stack.nats.indexOf(await leaderOf());
    await fault((rawLeader + 1) % 3, 'a follower of TRIB_RAW');
    const leader = await leaderOf();
    await fault(stack.nats.indexOf(leader), 'the TRIB_RAW leader');
    const newLeader = await leaderOf();
    log(`TRIB_RAW leader before the second fault: ${leader}, after: ${newLeader}`);

    stop = true;
    await Promise.all(pushers);
    log(
      `load stopped: ${records()} records acknowledged in ${acked.length} batches; refused attempts by status: ${JSON.stringify(Object.fromEntries(refused))}`,
    );

    let last: unknown;
    const s = await waitFor(
      async () => {
        const st = await stack.status(0);
        last = { lag: st.lag, monitor_lag: st.monitor_lag, accepted: st.accepted, loaded: st.tables?.fact_passage?.loaded };
        const lagZero = ['transformer', 'loader'].every((k) => st.lag?.[k]?.pending === 0 && st.lag?.[k]?.ack_pending === 0);
        const caughtUp = Object.values(st.monitor_lag ?? {}).every((v: any) => v.pending === 0 && v.ack_pending === 0);
        return lagZero && caughtUp ? st : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 1_000, what: 'the pipeline to drain' },
    ).catch((err: Error) => {
      log(`did not drain; last status: ${JSON.stringify(last)}`);
      throw err;
    });

    const expected = new Set<string>();
    let invalid = 0;
    for (const from of acked) {
      for (let i = from; i < from + BATCH; i++) {
        if (isInvalid(i)) invalid++;
        else if (!isFiltered(i)) expected.add(`e-${i}`);
      }
    }
    const dead = s.dead_lettered.transform + s.dead_lettered.load;
    log(`invariant: accepted ${s.accepted} = loaded ${s.tables.fact_passage.loaded} + filtered ${s.filtered} + dead-lettered ${dead}`);
    expect(s.accepted).toBe(s.tables.fact_passage.loaded + s.filtered + dead);
    expect(s.received).toBe(s.accepted + s.rejected);
    expect({ accepted: s.accepted, rejected: s.rejected }).toEqual({ accepted: records() - invalid, rejected: invalid });
    // The other monitor replica folds the same durable state into the same counts.
    const other = await stack.status(1);
    expect({ accepted: other.accepted, loaded: other.tables.fact_passage.loaded }).toEqual({
      accepted: s.accepted,
      loaded: s.tables.fact_passage.loaded,
    });

    const rows = await stack.query<{ event_id: string }>('SELECT event_id FROM warehouse.fact_passage');
    const landed = new Set(rows.map((r) => r.event_id));
    const missing = [...expected].filter((id) => !landed.has(id));
    const extra = [...landed].filter((id) => !expected.has(id));
    log(
      `warehouse: ${rows.length} rows, ${landed.size} distinct, ${expected.size} expected, ${missing.length} missing, ${extra.length} unexpected`,
    );
    expect({ duplicates: rows.length - landed.size, missing: missing.slice(0, 5), extra: extra.slice(0, 5) }).toEqual({
      duplicates: 0,
      missing: [],
      extra: [],
    });
    expect(s.tables.fact_passage.loaded).toBe(expected.size);
  });
});
