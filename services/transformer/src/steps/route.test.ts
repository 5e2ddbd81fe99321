import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadPipelineFile } from '@tributary/contract/spec';
import { PipelineRunner } from '../pipeline-runner';

const YAML = `
pipeline: triage
sources:
  tickets_in: { kind: push }
datasets:
  tickets:
    from: tickets_in
    fields: { id: string, priority: integer }
    steps:
      - route: { urgent: "priority >= 8", spam: "priority < 0" }
  urgent:
    from: tickets
    fields: { id: string, priority: integer }
  spam:
    from: tickets
    fields: { id: string }
  everything_left:
    from: tickets
    fields: { id: string }
`;

describe('route step', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'trib-route-'));
  writeFileSync(path.join(dir, 'triage.yaml'), YAML);
  const runner = new PipelineRunner(loadPipelineFile(path.join(dir, 'triage.yaml')), 'a-test-hmac-key-of-16+');

  it('sends each record to the first matching target only; the rest stay and flow to non-target readers', async () => {
    const results = await runner.run('tickets_in', [
      { id: 'a', priority: 9 },
      { id: 'b', priority: 3 },
      { id: 'c', priority: -1 },
      { id: 'd', priority: 8 },
    ]);
    const by = Object.fromEntries(results.map((r) => [r.dataset, r]));
    expect(by.tickets!.records.map((r) => r.id)).toEqual(['b']);
    // Routed records leave `tickets`: counted as filtered there (and as routed), so its counts still add up.
    expect(by.tickets!.filtered).toBe(3);
    expect(by.tickets!.routed).toBe(3);
    expect(by.urgent!.records).toEqual([
      { id: 'a', priority: 9 },
      { id: 'd', priority: 8 },
    ]);
    expect(by.spam!.records).toEqual([{ id: 'c' }]);
    expect(by.everything_left!.records).toEqual([{ id: 'b' }]);
  });

  it('refuses a target that does not read from the routing dataset, where it is written', () => {
    const bad = YAML.replace('spam:\n    from: tickets', 'spam:\n    from: tickets_in');
    writeFileSync(path.join(dir, 'bad.yaml'), bad);
    expect(() => loadPipelineFile(path.join(dir, 'bad.yaml'))).toThrow(/route\.spam: dataset "spam" must list "tickets" in `from`/);
  });
});
