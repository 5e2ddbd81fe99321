#!/usr/bin/env node
/**
 * Adds lockfile entries for platform-specific optional packages that the registry this project
 * is built against does not serve (it mirrors only some platforms, e.g. no darwin builds of
 * @swc/core). npm install then leaves them out of package-lock.json, and `npm ci` refuses the
 * lockfile as out of sync. The entries carry `os`/`cpu`, so npm skips them on other platforms
 * without fetching anything. Run after `npm install` changes the lockfile:
 *   node scripts/lock-platform-entries.js
 */
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const LOCK = path.join(ROOT, 'package-lock.json');

function missing() {
  try {
    execFileSync('npm', ['ci', '--dry-run', '--ignore-scripts'], { cwd: ROOT, stdio: 'pipe' });
    return [];
  } catch (err) {
    const out = String(err.stdout) + String(err.stderr);
    return [...out.matchAll(/Missing: (\S+?)@\S* from lock file/g)].map((m) => m[1]);
  }
}

/** Platform and CPU from a package name such as @swc/core-linux-arm-gnueabihf. */
function platformOf(name) {
  const os = ['darwin', 'linux', 'win32', 'freebsd', 'android', 'openharmony'].find((o) => name.includes(`-${o}-`)) ?? 'unknown';
  const cpu = ['arm64', 'x64', 'ia32', 'ppc64', 's390x', 'loong64', 'riscv64', 'arm'].find((c) => name.includes(`-${c}`)) ?? 'unknown';
  return { os: [os], cpu: [cpu] };
}

const names = missing();
if (names.length === 0) {
  process.stdout.write('lockfile: in sync, nothing to add\n');
  process.exit(0);
}
const lock = JSON.parse(fs.readFileSync(LOCK, 'utf8'));
for (const name of names) {
  // The version the parent package pins in its optionalDependencies.
  const parent = Object.values(lock.packages).find((p) => p.optionalDependencies && name in p.optionalDependencies);
  if (!parent) throw new Error(`no parent pins ${name}`);
  lock.packages[`node_modules/${name}`] = { version: parent.optionalDependencies[name], dev: true, optional: true, ...platformOf(name) };
}
fs.writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
process.stdout.write(`lockfile: added ${names.length} platform-specific optional entries\n`);
const left = missing();
if (left.length) throw new Error(`still missing: ${left.join(', ')}`);
