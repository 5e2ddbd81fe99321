/**
 * Summarises V8 CPU profiles (`.cpuprofile`, written by `BENCH_CPU_PROF=<dir> npm run bench`):
 * for each file, the share of sampled time per function (self time) and per package, so
 * docs/PERFORMANCE.md can say where the time goes.
 *
 *   node bench/dist/profile-summary.js <dir-or-files...> [--top 25]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code comes from: a package name, our workspace package, node internals or V8. */
function origin(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  if (url.startsWith('node:')) return 'node';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const ws = /\/(packages|services)\/([^/]+)\//.exec(url);
  return ws ? `@tributary/${ws[2]}` : path.basename(url);
}

/** Self time per function and per origin, as fractions of all sampled time. */
export function summarise(profile: Profile): { total: number; functions: [string, number][]; origins: [string, number][] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const functions = new Map<string, number>();
  const origins = new Map<string, number>();
  for (const [id, t] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const where = url ? `${path.basename(url)}:${lineNumber + 1}` : '';
    const name = `${functionName || '(anonymous)'} ${where}`.trim();
    functions.set(name, (functions.get(name) ?? 0) + t);
    const o = origin(url, functionName);
    origins.set(o, (origins.get(o) ?? 0) + t);
  }
  const sorted = (m: Map<string, number>): [string, number][] =>
    [...m].map(([k, v]): [string, number] => [k, v / total]).sort((a, b) => b[1] - a[1]);
  return { total, functions: sorted(functions), origins: sorted(origins) };
}

function files(args: string[]): string[] {
  return args.flatMap((a) =>
    statSync(a).isDirectory()
      ? readdirSync(a)
          .filter((f) => f.endsWith('.cpuprofile'))
          .map((f) => path.join(a, f))
      : [a],
  );
}

function main(): void {
  const argv = process.argv.slice(2);
  const topAt = argv.indexOf('--top');
  const top = topAt >= 0 ? Number(argv.splice(topAt, 2)[1]) : 25;
  if (argv.length === 0) {
    process.stderr.write('usage: profile-summary <dir-or-.cpuprofile...> [--top N]\n');
    process.exit(2);
  }
  const pct = (f: number): string => `${(f * 100).toFixed(1).padStart(5)}%`;
  for (const file of files(argv)) {
    const s = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile);
    process.stdout.write(`\n## ${path.basename(file)} (${(s.total / 1e6).toFixed(1)} s sampled)\n\nby origin:\n`);
    for (const [k, v] of s.origins.slice(0, 12)) process.stdout.write(`  ${pct(v)}  ${k}\n`);
    process.stdout.write('by function (self time):\n');
    for (const [k, v] of s.functions.slice(0, top)) process.stdout.write(`  ${pct(v)}  ${k}\n`);
  }
}

if (require.main === module) main();
