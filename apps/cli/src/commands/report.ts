/**
 * `tributary report build <name> --out <dir>`: saves a report (`reports/<name>.md`) as one
 * self-contained HTML file. The monitor renders it (`GET /api/reports/<name>/snapshot`, queries
 * run as its live pages run them: docs/reports.md); the CLI asks the monitor at
 * `MONITOR_URL`, since it may not import a service.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TributaryError } from '@tributary/contract/errors';
import { UsageError, type Command } from '../command';

/** The `report` command. */
export const reportCommand: Command = {
  name: 'report',
  args: 'build <name> --out <dir>',
  summary: 'save a report as one self-contained HTML file (no script, no external file), rendered by the monitor at $MONITOR_URL',
  async run([sub, name, flag, out], { env, out: print }) {
    if (sub !== 'build' || !name || flag !== '--out' || !out) throw new UsageError('usage: tributary report build <name> --out <dir>');
    const url = `${env.MONITOR_URL.replace(/\/$/, '')}/api/reports/${encodeURIComponent(name)}/snapshot`;
    const r = await fetch(url);
    if (!r.ok) {
      const body = (await r.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
      throw new TributaryError('TRIB_E_REPORT', `${url}: HTTP ${r.status}: ${body?.error?.message ?? r.statusText}`);
    }
    mkdirSync(out, { recursive: true });
    const file = path.join(out, `${name}.html`);
    writeFileSync(file, await r.text());
    print(`wrote ${file}`);
    return 0;
  },
};
