/**
 * Stream caps that follow the NATS they are given, against a real nats-server whose
 * `max_file_store` is 1 GiB (the size of the chart's development NATS volume): the default caps
 * (32 GiB in all) are refused by `migrate` before anything is created, in NATS or in PostgreSQL,
 * with the numbers and the variable to set; `TRIBUTARY_JETSTREAM_MAX_BYTES=1Gi` shares the volume
 * out and migrate succeeds. Also checked without the monitoring endpoint (the server's own refusal
 * becomes the same TRIB_E_CONFIG).
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { NatsServer, PostgresServer, stopAll } from '@tributary/testkit';
import { Client } from 'pg';
import { z } from 'zod';
import { STREAMS } from '@tributary/contract/wire';
import { connectNats, parseByteSize } from '@tributary/runtime/nats';
import { createLogger } from '@tributary/runtime/logger';
import { readEnv, topologyEnv, topologyFromEnv } from '@tributary/runtime/env-config';
import { migrate } from '../src';

const GiB = 1024 ** 3;
const logger = createLogger('test', 'silent');
const topology = (env: Record<string, string>) => topologyFromEnv(readEnv(z.object(topologyEnv), env));

afterAll(() => stopAll());

it('reads sizes as Kubernetes and NATS write them', () => {
  expect(parseByteSize('5Gi')).toBe(5 * GiB);
  expect(parseByteSize('512MiB')).toBe(512 * 1024 ** 2);
  expect(parseByteSize('2GB')).toBe(2e9);
  expect(parseByteSize('1048576')).toBe(1048576);
  expect(parseByteSize('5 parsecs')).toBeUndefined();
  expect(() => topology({ TRIBUTARY_JETSTREAM_MAX_BYTES: 'lots' })).toThrow(/TRIBUTARY_JETSTREAM_MAX_BYTES: "lots" is not a size/);
});

it('refuses caps the server cannot hold before creating anything, and fits the streams into the storage it is given', async () => {
  const [nats, pg] = await Promise.all([NatsServer.start({ configExtra: 'jetstream { max_file_store: 1GB }' }), PostgresServer.start()]);
  const base = { natsUrl: nats.url, pipelines: [], logger, natsMonitorUrls: [nats.monitorUrl] };
  const nc = await connectNats(nats.url, 'test');
  try {
    const jsm = await jetstreamManager(nc);

    // The defaults: 10 GiB for most streams, 32 GiB in all.
    const refused = migrate({ ...base, databaseUrl: pg.url('refused_db'), topology: topology({}) });
    await expect(refused).rejects.toMatchObject({ code: 'TRIB_E_CONFIG' });
    await expect(refused).rejects.toThrow(/need 32\.0 GiB .* can reserve 1\.0 GiB .*TRIBUTARY_JETSTREAM_MAX_BYTES.*Nothing was created/s);
    expect(await jsm.streams.names().next()).toEqual([]);
    const admin = new Client({ connectionString: pg.url('postgres') });
    await admin.connect();
    const dbs = await admin.query("select 1 from pg_database where datname = 'refused_db'");
    await admin.end();
    expect(dbs.rowCount).toBe(0);

    // Without the monitoring endpoint, the server's own refusal names the same remedy.
    const unchecked = migrate({ ...base, natsMonitorUrls: [], databaseUrl: pg.url('tributary'), topology: topology({}) });
    await expect(unchecked).rejects.toMatchObject({ code: 'TRIB_E_CONFIG' });
    await expect(unchecked).rejects.toThrow(/insufficient storage.*TRIBUTARY_JETSTREAM_MAX_BYTES/);
    for (const s of await jsm.streams.names().next()) await jsm.streams.delete(s);

    // The storage NATS has, shared out: a fifth left for the KV buckets.
    await migrate({ ...base, databaseUrl: pg.url('tributary'), topology: topology({ TRIBUTARY_JETSTREAM_MAX_BYTES: '1Gi' }) });
    const caps = Object.fromEntries(
      await Promise.all(Object.values(STREAMS).map(async (s) => [s, (await jsm.streams.info(s)).config.max_bytes] as const)),
    );
    expect(caps[STREAMS.raw]).toBe(GiB / 4);
    expect(Object.values(caps).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(0.8 * GiB);
    // And again (an upgrade): what our streams reserve already is not counted twice.
    await migrate({ ...base, databaseUrl: pg.url('tributary'), topology: topology({ TRIBUTARY_JETSTREAM_MAX_BYTES: '1Gi' }) });
  } finally {
    await nc.close();
  }
});
