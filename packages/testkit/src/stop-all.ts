/**
 * Every process the test kit starts is registered here until it is cleaned up, so one
 * `afterAll(stopAll)` per test file stops whatever a failing test left behind.
 *
 * Two further nets catch what `stopAll` cannot: an `exit` listener SIGKILLs tracked children
 * when the jest worker exits normally, and children are spawned under `setpriv --pdeathsig KILL`
 * (see spawn-child.ts) so the kernel kills them even if the worker itself is SIGKILLed.
 */

/** Something the test kit started and must stop: a server or a service process. */
export interface TrackedResource {
  /** For messages, e.g. "nats-server :4222". */
  readonly description: string;
  /** Graceful stop plus removal of temporary files. */
  dispose(): Promise<void>;
  /** Synchronous last resort used on process exit: SIGKILL, nothing else. */
  killNow(): void;
}

const tracked = new Set<TrackedResource>();

function killAllNow(): void {
  for (const resource of tracked) {
    try {
      resource.killNow();
    } catch {
      // Already gone: nothing to do while the process is exiting anyway.
    }
  }
}

/**
 * Registers a resource for {@link stopAll}; returns the function that unregisters it.
 *
 * The `exit` listener exists only while something is tracked: jest reuses a worker process for
 * many test files, each with a fresh copy of this module, and permanent listeners would pile up.
 */
export function track(resource: TrackedResource): () => void {
  if (tracked.size === 0) process.on('exit', killAllNow);
  tracked.add(resource);
  return () => {
    if (tracked.delete(resource) && tracked.size === 0) process.removeListener('exit', killAllNow);
  };
}

/** Descriptions of the resources still running or not yet cleaned up (for diagnostics). */
export function trackedResources(): string[] {
  return [...tracked].map((resource) => resource.description);
}

/**
 * Stops and cleans up every server and service the test kit started in this process and has not
 * yet cleaned up. Register it once per test file: `afterAll(stopAll)`.
 */
export async function stopAll(): Promise<void> {
  const results = await Promise.allSettled([...tracked].map((resource) => resource.dispose()));
  const failures = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failures.length > 0) {
    throw new AggregateError(
      failures.map((failure) => failure.reason),
      `stopAll: ${failures.length} resource(s) failed to stop`,
    );
  }
}
