/**
 * The Prometheus alerting rules in deploy/prometheus are valid, pass their promtool unit tests
 * (each alert fires after its `for` and resolves), and name the same alerts the monitor evaluates.
 * promtool comes from Debian's `prometheus`; when missing, `scripts/setup --test-tools` installs it.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { ensureTestTool } from '../../../tests/e2e/test-tools';
import { ALERT_NAMES } from '../src/alerts/alert-rules';

const run = promisify(execFile);
const DIR = path.resolve(__dirname, '../../../deploy/prometheus');
const PROMTOOL = '/usr/bin/promtool';

describe('Prometheus alerting rules', () => {
  beforeAll(() => ensureTestTool(PROMTOOL), 600_000);

  it('are valid rules (promtool check rules)', async () => {
    const { stdout } = await run(PROMTOOL, ['check', 'rules', 'tributary-rules.yml'], { cwd: DIR });
    expect(stdout).toContain('SUCCESS');
  });

  it('fire after their for-duration and resolve (promtool test rules)', async () => {
    const r = await run(PROMTOOL, ['test', 'rules', 'tributary-rules.test.yml'], { cwd: DIR }).catch(
      (err: { stdout: string; stderr: string }) => {
        throw new Error(`promtool test rules failed:\n${err.stdout}\n${err.stderr}`);
      },
    );
    expect(r.stdout).toContain('SUCCESS');
  });

  it('name every alert the monitor evaluates, and each is unit-tested', () => {
    const rules = parse(readFileSync(path.join(DIR, 'tributary-rules.yml'), 'utf8')) as { groups: { rules: { alert: string }[] }[] };
    const names = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(names).toEqual(expect.arrayContaining([...ALERT_NAMES]));
    const tests = readFileSync(path.join(DIR, 'tributary-rules.test.yml'), 'utf8');
    for (const n of ALERT_NAMES) expect(tests).toContain(`alertname: ${n}`);
  });
});
