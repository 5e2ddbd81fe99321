import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const OWNER_FILE = 'testkit-owner.pid';
const TMPFS_MAGIC = 0x01021994;
const swept = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM means it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes `tributary-*` temp dirs left by test processes that died without cleaning up (their
 * children die with them through the parent-death signal, their files do not). Each dir names
 * its owner's pid; a dir whose owner is gone is garbage. Runs once per base dir and process.
 */
function sweepStale(base: string): void {
  if (swept.has(base)) return;
  swept.add(base);
  let entries: string[];
  try {
    entries = readdirSync(base).filter((name) => name.startsWith('tributary-'));
  } catch {
    return;
  }
  for (const name of entries) {
    try {
      const owner = Number(readFileSync(join(base, name, OWNER_FILE), 'utf8'));
      if (owner > 0 && !alive(owner)) rmSync(join(base, name), { recursive: true, force: true });
    } catch {
      // No owner file (a template, someone else's dir) or already gone: leave it.
    }
  }
}

/**
 * Creates a fresh `<base>/tributary-<name>-XXXXXX` directory that records this process as its
 * owner, after sweeping dirs of dead owners from `base`.
 */
export function makeTempDir(name: string, base: string = shortTmpdir()): string {
  sweepStale(base);
  const dir = mkdtempSync(join(base, `tributary-${name}-`));
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
  return dir;
}

/**
 * os.tmpdir(), or /tmp when that is long: unix socket paths are limited to 107 bytes, and when
 * running as root every directory above PostgreSQL's socket must be traversable by `postgres`,
 * which a long or private TMPDIR may not be while /tmp always is.
 */
export function shortTmpdir(): string {
  const dir = tmpdir();
  return dir.length <= 60 ? dir : '/tmp';
}

/**
 * /dev/shm when it is a writable tmpfs with at least 1 GiB free, else {@link shortTmpdir}.
 *
 * PostgreSQL data dirs go there: on the ext4 (discard) disks of these machines initdb takes
 * ~3 s and copying a data dir up to 1.7 s, on tmpfs ~1.2 s and ~0.15 s. The data of a test
 * server is small and deleted by cleanup(); benchmarks can pass a disk-backed base instead.
 */
export function fastTmpdir(): string {
  try {
    const stats = statfsSync('/dev/shm');
    accessSync('/dev/shm', constants.W_OK | constants.X_OK);
    if (stats.type === TMPFS_MAGIC && stats.bavail * stats.bsize >= 2 ** 30) return '/dev/shm';
  } catch {
    // No usable /dev/shm (some containers): fall back to the disk.
  }
  return shortTmpdir();
}
