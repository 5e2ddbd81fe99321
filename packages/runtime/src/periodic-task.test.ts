import { PeriodicTask } from './periodic-task';

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
};

describe('PeriodicTask', () => {
  test('runs again after each run, never two at once, and keeps going after a failure', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const errors: unknown[] = [];
    const task = new PeriodicTask({
      intervalMs: 2,
      onError: (err) => errors.push(err),
      run: async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        runs++;
        await new Promise((r) => setTimeout(r, 10));
        active--;
        if (runs === 2) throw new Error('second run fails');
      },
    });
    task.start();
    await until(() => runs >= 4);
    await task.stop();
    expect(maxActive).toBe(1);
    expect(errors).toEqual([new Error('second run fails')]);
  });

  test('stop() waits for the run in progress and nothing runs after it', async () => {
    let finished = 0;
    let started = 0;
    const task = new PeriodicTask({
      intervalMs: 1,
      runAtStart: true,
      onError: () => undefined,
      run: async () => {
        started++;
        await new Promise((r) => setTimeout(r, 30));
        finished++;
      },
    });
    task.start();
    expect(started).toBe(1);
    await task.stop();
    expect(finished).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(started).toBe(1);
  });

  test('without runAtStart the first run waits one interval', async () => {
    let runs = 0;
    const task = new PeriodicTask({ intervalMs: 60_000, onError: () => undefined, run: async () => void runs++ });
    task.start();
    await new Promise((r) => setTimeout(r, 20));
    await task.stop();
    expect(runs).toBe(0);
  });
});
