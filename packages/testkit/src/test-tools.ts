/**
 * Optional test tools (Debian's chromium and prometheus): installed on demand through
 * `scripts/setup --test-tools`, so a fresh CI machine gets them and a test never skips silently.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The repository (this file runs from packages/testkit/dist or, under ts-jest, src). */
const ROOT = path.resolve(__dirname, '../../..');

/**
 * Makes sure a test tool exists, installing the optional test packages through `scripts/setup
 * --test-tools` when it does not; throws with the command to run when that fails.
 */
export function ensureTestTool(binary: string): void {
  if (existsSync(binary)) return;
  try {
    // Test files run in parallel workers: one installs while the others wait, then find it there.
    execFileSync('flock', [path.join(tmpdir(), 'tributary-test-tools.lock'), path.join(ROOT, 'scripts/setup'), '--test-tools'], {
      stdio: 'pipe',
      timeout: 600_000,
    });
  } catch (err) {
    const out = `${(err as { stdout?: Buffer }).stdout ?? ''}${(err as { stderr?: Buffer }).stderr ?? ''}`;
    throw new Error(`${binary} is missing and \`scripts/setup --test-tools\` could not install it:\n${out}`);
  }
  if (!existsSync(binary)) throw new Error(`${binary} is still missing after \`scripts/setup --test-tools\``);
}
