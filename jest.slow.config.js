/**
 * The slow suite (`npm run test:slow`, run by .ci/run after `npm test`): suites that build or run
 * heavy things. `images` builds the four service images with podman and runs them (test:images).
 * Other slow suites go in tests/slow/.
 */
const base = require('./jest.config.js');
const common = { ...base.projects[0], testMatch: undefined };
delete common.displayName;

module.exports = {
  testTimeout: 25 * 60_000,
  projects: [
    { ...common, displayName: 'images', testMatch: ['<rootDir>/tests/images/**/*.test.ts'] },
    {
      ...common,
      displayName: 'slow',
      testMatch: ['<rootDir>/tests/slow/**/*.test.ts'],
      // The soak runs for an hour: only when asked (`npm run soak` sets SOAK_SECONDS).
      testPathIgnorePatterns: ['/node_modules/', ...(process.env.SOAK_SECONDS ? [] : ['/tests/slow/soak\\.test\\.ts$'])],
    },
  ],
};
