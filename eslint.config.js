// ESLint (flat config): typescript-eslint's recommended rules, formatting left to Prettier, and the
// layering of the packages (ARCHITECTURE.md): contract <- runtime <- warehouse, archive <- services, apps.
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');
const prettier = require('eslint-config-prettier');

const SERVICES = ['ingest-api', 'transformer', 'loader', 'monitor'];
// Relative imports may not leave a package for another one: they go through its entry point.
const crossFolder = { regex: `^(\\.\\./)+(packages|apps|services|contract|runtime|warehouse|archive|testkit|cli|${SERVICES.join('|')})/` };
const pkgs = (...names) =>
  names.map((n) => ({
    group: [`@tributary/${n}`, `@tributary/${n}/*`],
    message: `this layer may not import @tributary/${n} (ARCHITECTURE.md, layering)`,
  }));
// I/O libraries the contract must not touch: it is the pure part every other package shares.
const IO = [
  'pg',
  'pg-copy-streams',
  'express',
  'helmet',
  'pino',
  'prom-client',
  '@nats-io/transport-node',
  '@nats-io/jetstream',
  '@nats-io/kv',
  '@opentelemetry/*',
  '@aws-sdk/*',
];
// The roots of the split packages: import an entry point (`@tributary/contract/spec`), so each file
// says which part it uses (`node scripts/entry-imports.js` rewrites them; tests/architecture/entry-points.test.ts).
const ROOT_BARRELS = ['contract', 'runtime', 'warehouse'].map((n) => ({
  name: `@tributary/${n}`,
  message: `import an entry point of @tributary/${n} (its package.json exports), not its root`,
}));
const layer = (files, patterns) => ({
  files,
  ignores: ['**/*.test.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        paths: ROOT_BARRELS,
        patterns: [...patterns, { ...crossFolder, message: 'import another package through its entry point (@tributary/...)' }],
      },
    ],
  },
});

module.exports = tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', 'bench/results/**', 'docs/**/*.json'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: {
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        __dirname: 'readonly',
        console: 'readonly',
        fetch: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        Buffer: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['**/*.test.ts', 'tests/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  layer(
    ['packages/contract/src/**/*.ts'],
    [
      ...pkgs('runtime', 'warehouse', 'archive', 'cli', 'testkit', ...SERVICES),
      { group: IO, message: 'the contract does no I/O: connections belong in @tributary/runtime or @tributary/warehouse' },
    ],
  ),
  layer(['packages/runtime/src/**/*.ts'], pkgs('warehouse', 'archive', 'cli', 'testkit', ...SERVICES)),
  layer(['packages/warehouse/src/**/*.ts'], pkgs('archive', 'cli', 'testkit', ...SERVICES)),
  layer(['packages/archive/src/**/*.ts'], pkgs('warehouse', 'cli', 'testkit', ...SERVICES)),
  layer(['apps/cli/src/**/*.ts'], pkgs('testkit', ...SERVICES)),
  ...SERVICES.map((svc) => layer([`services/${svc}/src/**/*.ts`], pkgs('cli', 'testkit', ...SERVICES.filter((o) => o !== svc)))),
  // One timer loop (issue 14): runs that never overlap, failures reported, a stop() that waits.
  {
    files: ['packages/*/src/**/*.ts', 'apps/*/src/**/*.ts', 'services/*/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        {
          name: 'setInterval',
          message: 'use PeriodicTask (@tributary/runtime): runs never overlap and stop() waits for the one in progress',
        },
      ],
    },
  },
);
