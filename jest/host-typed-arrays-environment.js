/**
 * Jest's node environment with the host's typed array constructors. Native addons such as
 * onnxruntime-node create their output arrays in the host realm, and onnxruntime-common checks
 * them with `instanceof Float32Array` in the test's realm, which fails under jest's sandbox (never
 * in a plain Node process). jest.config.js runs every test file in this environment, since any
 * test that runs a pipeline with a `model` step in process needs it.
 */
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

class HostTypedArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = HostTypedArraysEnvironment;
