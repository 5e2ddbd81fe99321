/**
 * `tributary test`, run as a user runs it (the built CLI, a child process, no servers): every
 * example pipeline's shipped tests pass; a case whose expectation is wrong fails with exit 1 and
 * names the table, row, field, both values and the case's line; a malformed test file is a usage
 * error (exit 2) naming file, line and field. Needs `npm run build` (pretest does it).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { listPipelineFiles } from '@tributary/contract/spec';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'apps/cli/dist/cli.js');

async function tributary(args: string[], cwd = ROOT): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, LOG_LEVEL: 'warn' },
    });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

jest.setTimeout(60_000);

describe('tributary test', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'trib-pipeline-tests-'));
    cpSync(path.join(ROOT, 'pipelines'), dir, { recursive: true });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes the tests shipped for every example pipeline, offline', async () => {
    const r = await tributary(['test', 'pipelines']);
    expect(r.out).toMatch(/\d+ cases, 0 failed/);
    expect(r.code).toBe(0);
    // Every top-level example pipeline has a test file naming it.
    const tested = new Set(readdirSync(path.join(ROOT, 'pipelines/tests')).map((f) => f.replace(/\.ya?ml$/, '')));
    const pipelines = listPipelineFiles(path.join(ROOT, 'pipelines')).map((f) => path.basename(f).replace(/\.ya?ml$/, ''));
    expect(pipelines.filter((p) => !tested.has(p))).toEqual([]);
  });

  it('fails a case whose expectation is wrong with exit 1, naming the table, row, field and both values', async () => {
    const file = path.join(dir, 'tests/traffic.yaml');
    const text = `pipeline: traffic
cases:
  - name: a wrong speed
    given:
      gantry:
        - { event_id: t1, gantry_id: G001, plate: AB12CDE, speed_mph: 61.5, lane: 2, passengers: 1, observed_at: '2026-11-21T08:00:01Z' }
    expect:
      tables:
        fact_passage: [{ event_id: t1, speed_kmh: 61.5 }]
`;
    writeFileSync(file, text);
    const r = await tributary(['test', dir, '--pipeline', 'traffic']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('FAIL  a wrong speed');
    expect(r.out).toContain('tests/traffic.yaml:3');
    expect(r.out).toContain('table fact_passage row 0 field speed_kmh: expected 61.5, got 99');
    expect(r.out).toContain('1 cases, 1 failed');
  });

  it('refuses a malformed test file with exit 2, naming the file, line and field', async () => {
    writeFileSync(path.join(dir, 'tests/traffic.yaml'), 'pipeline: traffic\ncases:\n  - name: no input\n    expect: {}\n    givn: {}\n');
    const r = await tributary(['test', dir]);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/tests\/traffic\.yaml:5:\d+: cases\[0\]\.givn: unknown field "givn"/);
  });
});
