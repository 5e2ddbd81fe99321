import { NatsServer, PostgresServer, stopAll } from '@tributary/testkit';
afterAll(stopAll);
test('timings', async () => {
  const t = () => { const s = Date.now(); return () => Date.now() - s; };
  let e = t(); const pg = await PostgresServer.start(); const pgStart = e();
  e = t(); await pg.stop(); const pgStop = e();
  e = t(); await pg.restart(); const pgRestart = e();
  e = t(); await pg.kill(); const pgKill = e();
  e = t(); await pg.restart(); const pgRecover = e();
  e = t(); await pg.cleanup(); const pgCleanup = e();
  e = t(); const n = await NatsServer.start(); const nStart = e();
  e = t(); await n.restart(); const nRestart = e();
  e = t(); await n.cleanup(); const nCleanup = e();
  console.log(JSON.stringify({ pgStart, pgLaunch: pg.lastStartMs, pgStop, pgRestart, pgKill, pgRecover, pgCleanup, nStart, nRestart, nCleanup }));
});
