/**
 * The slow suite (`npm run test:slow`, run by .ci/run after `npm test`): suites that build or run
 * heavy things. `images` builds the four service images with podman and runs them (test:images);
 * `deploy` runs every documented install path with `podman kube play` on those images (test:deploy).
 * Other slow suites go in tests/slow/; `slow` also runs the suites jest/slow-suites.js lists.
 */
const base = require('./jest.config.js');
const common = { ...base.projects[0], testMatch: undefined };
delete common.displayName;

module.exports = {
  testTimeout: 25 * 60_000,
  projects: [
    { ...common, displayName: 'images', testMatch: ['<rootDir>/tests/images/**/*.test.ts'] },
    // Every documented install path rendered and run with `podman kube play` (npm run test:deploy).
    { ...common, displayName: 'deploy', testMatch: ['<rootDir>/tests/deploy/kube-play/**/*.test.ts'] },
    {
      ...common,
      displayName: 'slow',
      testMatch: ['<rootDir>/tests/slow/**/*.test.ts', ...require('./jest/slow-suites').map((f) => `<rootDir>/${f}`)],
      // The soak runs for an hour: only when asked (`npm run soak` sets SOAK_SECONDS).
      testPathIgnorePatterns: ['/node_modules/', ...(process.env.SOAK_SECONDS ? [] : ['/tests/slow/soak\\.test\\.ts$'])],
    },
  ],
};
