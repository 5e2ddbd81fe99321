/**
 * Jest runs TypeScript through swc (fast, no type check: `npm run typecheck` does that).
 * Workspace packages resolve to their sources, so unit tests need no build; the end-to-end
 * tests spawn the compiled services, which is why `npm test` builds first (pretest).
 */
const transform = { '^.+\\.(t|j)s$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
const moduleNameMapper = {
  '^@tributary/(archive|testkit)$': '<rootDir>/packages/$1/src/index.ts',
  // contract, runtime and warehouse have no root entry, only sub-entries (`@tributary/contract/spec`):
  // a folder's index.ts or a top-level file, as each package's `exports` opens them.
  '^@tributary/(contract|runtime|warehouse)/([a-z-]+)$': '<rootDir>/packages/$1/src/$2',
  '^@tributary/cli$': '<rootDir>/apps/cli/src/index.ts',
};
// hyparquet and hyparquet-writer (the archive's Parquet codec) are ESM-only: Node 20.19+ loads them
// with require(), jest's module loader does not, so swc compiles them to CommonJS like our sources.
const transformIgnorePatterns = ['/node_modules/(?!(hyparquet|hyparquet-writer)/)'];
// Host typed arrays for native addons, and each file's AsyncLocalStorage disabled when it ends (see the file).
const testEnvironment = '<rootDir>/jest/test-environment.js';
// Suites that run in `npm run test:slow` instead (see the file).
const SLOW = require('./jest/slow-suites').map((f) => `<rootDir>/${f}`);
const common = { transform, transformIgnorePatterns, moduleNameMapper, testEnvironment, rootDir: __dirname };

module.exports = {
  // Per-test timeouts are global in jest (not per project); e2e files raise theirs with jest.setTimeout.
  testTimeout: 60_000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/{packages,apps,services}/*/src/**/*.test.ts', '<rootDir>/tests/architecture/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/{packages,apps,services}/*/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...SLOW],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/tests/e2e/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...SLOW],
    },
    {
      ...common,
      displayName: 'deploy',
      testMatch: ['<rootDir>/tests/deploy/**/*.test.ts', '<rootDir>/infra/test/**/*.test.ts'],
      // The install paths run with podman: the slow suite (`npm run test:deploy`).
      testPathIgnorePatterns: ['/node_modules/', '/tests/deploy/kube-play/'],
    },
    {
      ...common,
      displayName: 'docs',
      testMatch: ['<rootDir>/tests/docs/**/*.test.ts'],
    },
  ],
};
