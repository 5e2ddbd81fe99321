import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { listPipelineFiles, loadPipelines } from './load-pipeline';

const API = `connections:
  api:
    kind: http
    base_url: https://api.example.com
    auth: { type: api_key, in: header, name: X-Key, secret: env:EXAMPLE_KEY }
    budget: { requests: 10, per: 1s }
`;

const pipeline = (name: string, connection: string, own = ''): string => `pipeline: ${name}
${own}sources:
  items:
    kind: rest
    connection: ${connection}
    schedule: { every: 1h }
    request: { path: /items }
datasets:
  rows: { from: items, fields: { id: string } }
`;

describe('connections shared by a folder of pipelines (connections.yaml)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'trib-shared-connections-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('are defined once and given to each pipeline that references them, and only to those', () => {
    writeFileSync(path.join(dir, 'connections.yaml'), API);
    writeFileSync(path.join(dir, 'a.yaml'), pipeline('a', 'api'));
    writeFileSync(path.join(dir, 'b.yaml'), pipeline('b', 'api'));
    writeFileSync(
      path.join(dir, 'c.yaml'),
      pipeline('c', 'mine', 'connections:\n  mine: { kind: http, base_url: https://other.example.com }\n'),
    );
    expect(listPipelineFiles(dir).map((f) => path.basename(f))).toEqual(['a.yaml', 'b.yaml', 'c.yaml']);
    const [a, b, c] = loadPipelines(dir);
    expect(a!.connections.api).toMatchObject({ kind: 'http', base_url: 'https://api.example.com', budget: { requests: 10 } });
    expect(b!.connections.api).toEqual(a!.connections.api);
    expect(Object.keys(c!.connections)).toEqual(['mine']);
  });

  it('refuses a connection defined both in a pipeline and in the shared file, naming the line', () => {
    writeFileSync(path.join(dir, 'connections.yaml'), API);
    writeFileSync(path.join(dir, 'a.yaml'), pipeline('a', 'api', 'connections:\n  api: { kind: http, base_url: https://x.example.com }\n'));
    expect(() => loadPipelines(dir)).toThrow(
      /a\.yaml:3:\d+: connections\.api: connection "api" is also defined in connections\.yaml: define it once/,
    );
  });

  it('refuses a shared file that does not validate, naming its line and field', () => {
    writeFileSync(path.join(dir, 'connections.yaml'), API.replace('base_url: https://api.example.com', 'base_url: 42'));
    writeFileSync(path.join(dir, 'a.yaml'), pipeline('a', 'api'));
    expect(() => loadPipelines(dir)).toThrow(/connections\.yaml:4:\d+: connections\.api\.base_url: /);
  });

  it('still names an unknown connection when the shared file does not have it', () => {
    writeFileSync(path.join(dir, 'connections.yaml'), API);
    writeFileSync(path.join(dir, 'a.yaml'), pipeline('a', 'nope'));
    expect(() => loadPipelines(dir)).toThrow(/sources\.items\.connection: unknown connection "nope"/);
  });
});
