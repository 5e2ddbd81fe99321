/**
 * The Prometheus alerting rules in deploy/prometheus (generated from the alert catalogue) are valid,
 * pass their promtool unit tests (each alert fires after its `for` and resolves; two monitor replicas
 * count once), and every alert of the catalogue has a promtool case.
 * promtool comes from Debian's `prometheus`; when missing, `scripts/setup --test-tools` installs it.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { ensureTestTool } from '@tributary/testkit';
import { ALERT_RULES } from '../src/alerts/alert-catalogue';

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

  it('name every alert of the catalogue, and each is unit-tested', () => {
    const rules = parse(readFileSync(path.join(DIR, 'tributary-rules.yml'), 'utf8')) as { groups: { rules: { alert: string }[] }[] };
    const names = ALERT_RULES.map((r) => r.alert);
    expect(rules.groups.flatMap((g) => g.rules.map((r) => r.alert))).toEqual(names);
    const tests = readFileSync(path.join(DIR, 'tributary-rules.test.yml'), 'utf8');
    // An alert without a promtool case in tributary-rules.test.yml:
    expect(names.filter((n) => !tests.includes(`alertname: ${n}`))).toEqual([]);
  });
});
