import { Shutdown, stopEach } from './shutdown';

function recorder() {
  const warnings: string[] = [];
  return { warnings, logger: { warn: (_obj: object, msg: string) => void warnings.push(msg) } };
}

describe('Shutdown', () => {
  test('runs the steps in the order added, each after the one before finished', async () => {
    const order: string[] = [];
    const slow = (name: string) => () => new Promise<void>((r) => setTimeout(() => (order.push(name), r()), 20));
    const { logger } = recorder();
    const s = new Shutdown(logger)
      .step('one', slow('one'))
      .step('two', () => void order.push('two'))
      .step('three', slow('three'));
    await s.stop();
    expect(order).toEqual(['one', 'two', 'three']);
  });

  test('a failing step is logged, the rest still run, and stop() rejects with the first failure', async () => {
    const order: string[] = [];
    const { logger, warnings } = recorder();
    const s = new Shutdown(logger)
      .step('NATS', () => Promise.reject(new Error('drain failed')))
      .step('HTTP server', () => {
        throw new Error('close failed');
      })
      .step('PostgreSQL pool', () => void order.push('pool'));
    await expect(s.stop()).rejects.toThrow('drain failed');
    expect(order).toEqual(['pool']);
    expect(warnings).toEqual(['error while stopping: NATS', 'error while stopping: HTTP server']);
  });

  test('runs once: a second stop() waits for the same run', async () => {
    let runs = 0;
    const s = new Shutdown(recorder().logger).step('count', () => new Promise<void>((r) => setTimeout(() => (runs++, r()), 10)));
    const [a, b] = [s.stop(), s.stop()];
    expect(a).toBe(b);
    await Promise.all([a, b, s.stop()]);
    expect(runs).toBe(1);
  });
});

describe('stopEach', () => {
  test('waits for every item even when one fails, then rejects with that failure', async () => {
    let slowDone = false;
    const items = [
      { stop: () => Promise.reject(new Error('boom')) },
      { stop: () => new Promise<void>((r) => setTimeout(() => ((slowDone = true), r()), 30)) },
    ];
    await expect(stopEach(items)).rejects.toThrow('boom');
    expect(slowDone).toBe(true);
  });
});
