#!/usr/bin/env node
// The `tributary` command. A committed file rather than dist/cli.js, so npm links it at install
// time, before the build has written dist/ (a fresh clone's `npm ci` runs first).
require('../dist/cli.js').runCli(process.argv.slice(2));
