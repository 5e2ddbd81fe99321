/**
 * The test environment of every project: jest's node environment with two changes for running
 * hundreds of files in one process (jest runs in band on two cores: maxWorkers = cores - 1).
 *
 * 1. The host's typed array constructors. Native addons such as onnxruntime-node create their
 *    output arrays in the host realm, and onnxruntime-common checks them with
 *    `instanceof Float32Array` in the test's realm, which fails under jest's sandbox (never in a
 *    plain Node process). Any test that runs a pipeline with a `model` step in process needs it.
 *
 * 2. Each file's AsyncLocalStorage instances are disabled when the file ends. jest-circus 30 loads
 *    a fresh copy of its adapter per test file, and each copy makes an AsyncLocalStorage for its
 *    test context that stays enabled when the file is done. On Node 20 every enabled instance is
 *    visited at the creation of every promise and async resource in the process, so the cost of
 *    an `await` grows with the number of files already run: a CPU-bound test took 22 s alone and
 *    190 s late in `npm test`. Nothing from a finished file runs again, so disabling what it
 *    enabled (a public method; a later `run()` re-enables an instance) loses nothing.
 */
const { AsyncLocalStorage } = require('node:async_hooks');
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'ArrayBuffer',
  'SharedArrayBuffer',
  'DataView',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
  'Buffer',
];

/** Instances entered (run or enterWith) since the current file's environment was set up. */
const entered = new Set();
for (const method of ['run', 'enterWith']) {
  const original = AsyncLocalStorage.prototype[method];
  AsyncLocalStorage.prototype[method] = function (...args) {
    entered.add(this);
    return original.apply(this, args);
  };
}

class TributaryTestEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }

  async setup() {
    entered.clear();
    await super.setup();
  }

  async teardown() {
    for (const storage of entered) storage.disable();
    entered.clear();
    await super.teardown();
  }
}

module.exports = TributaryTestEnvironment;
