import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TributaryError } from '../errors';
import { listPipelineFiles, loadPipelineFile, loadPipelines, type SpecProblem } from './load-pipeline';

const TRAFFIC = path.resolve(__dirname, '../../../../pipelines/traffic.yaml');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tributary-spec-'));
  mkdirSync(path.join(dir, 'schemas'));
  writeFileSync(path.join(dir, 'schemas', 'order.json'), JSON.stringify({ type: 'object', required: ['id'] }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `text` as `name` in the temp dir and returns its path. */
function file(name: string, text: string): string {
  const p = path.join(dir, name);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, text.replace(/^\n/, ''));
  return p;
}

/** The problems `load` reports, as `line:column field: message`. */
function problems(load: () => unknown): string[] {
  try {
    load();
  } catch (err) {
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe('TRIB_E_SPEC');
    return ((err as TributaryError).details as SpecProblem[]).map((p) => `${p.line}:${p.column} ${p.field}: ${p.message}`);
  }
  throw new Error('expected TRIB_E_SPEC, the spec loaded');
}

const ORDERS = `
pipeline: shop
sources:
  orders:
    kind: push
    schema: schemas/order.json
`;
const PLAIN = 'pipeline: shop\nsources:\n  orders: { kind: push }\ndatasets: {}\n';

describe('loadPipelineFile', () => {
  it('loads pipelines/traffic.yaml with its schema, normalised fields, steps and tables', () => {
    const p = loadPipelineFile(TRAFFIC);
    expect(p.name).toBe('traffic');
    expect(p.file).toBe(TRAFFIC);
    expect(p.slaFreshnessMs).toBe(5 * 60_000);
    expect(Object.keys(p.schemas)).toEqual(['schemas/passage.json']);
    expect(p.schemas['schemas/passage.json']).toMatchObject({ title: 'Gantry passage' });
    expect(p.datasets.map((d) => d.name)).toEqual(['passages']);
    expect(p.datasets[0]!.from).toEqual(['gantry', 'simulator']);
    expect(p.datasets[0]!.steps.map((s) => s.kind)).toEqual(['validate', 'map', 'filter']);
    expect(p.datasets[0]!.fields.find((f) => f.name === 'event_id')).toEqual({ name: 'event_id', type: 'string', required: true });
    expect(p.datasets[0]!.fields.find((f) => f.name === 'lane')).toEqual({ name: 'lane', type: 'integer', required: false });
    expect(p.tables).toEqual([
      {
        name: 'fact_passage',
        from: 'passages',
        mode: 'append',
        key: ['event_id', 'observed_at'],
        partition: { by: 'observed_at', interval: 'day', premake: 3 },
        retention: 3650 * 86_400_000,
        indexes: [{ columns: ['gantry_id', 'observed_at'], unique: false, method: 'btree' }],
      },
    ]);
  });

  it('orders datasets so each comes after the datasets it reads', () => {
    const p = loadPipelineFile(
      file(
        'ordered.yaml',
        `${ORDERS}
datasets:
  gold: { from: silver, fields: { id: string } }
  silver: { from: bronze, fields: { id: string } }
  bronze: { from: orders, fields: { id: string } }
`,
      ),
    );
    expect(p.datasets.map((d) => d.name)).toEqual(['bronze', 'silver', 'gold']);
  });

  it('reports every structural problem at once, each at its line and column with its field path', () => {
    const f = file(
      'broken.yaml',
      `${ORDERS}    colour: red
  feed:
    kind: generator
    generator: weather
datasets:
  clean:
    from: orders
    fields:
      id: string
    steps:
      - filter: ""
      - explode: {}
      - cast: { id: text }
tables:
  t: { from: clean, mode: merge }
`,
    );
    expect(problems(() => loadPipelineFile(f))).toEqual([
      '6:5 sources.orders.colour: unknown field "colour"',
      expect.stringMatching(/^9:16 sources\.feed\.generator: .*"traffic"/),
      expect.stringMatching(/^16:17 datasets\.clean\.steps\[0\]\.filter: /),
      expect.stringMatching(
        /^17:9 datasets\.clean\.steps\[1\]: unknown step "explode" \(known: validate, map, filter, rename, cast, drop, [a-z, ]+\)$/,
      ),
      expect.stringMatching(/^18:21 datasets\.clean\.steps\[2\]\.cast\.id: .*"timestamp"/),
      expect.stringMatching(/^20:27 tables\.t\.mode: unknown mode "merge" \(known: append, upsert/),
    ]);
  });

  it('reports an unknown `from` and a table key that is not a field, each where it is written', () => {
    const f = file(
      'refs.yaml',
      `${ORDERS}datasets:
  clean:
    from: [orders, nowhere]
    fields:
      id: string
tables:
  t:
    from: clean
    mode: append
    key: [id, missing]
`,
    );
    expect(problems(() => loadPipelineFile(f))).toEqual([
      '8:20 datasets.clean.from[1]: unknown source or dataset "nowhere" (known: orders, clean)',
      '15:15 tables.t.key[1]: key field "missing" is not a field of dataset "clean"',
    ]);
  });

  it('checks an upsert position: a field of the dataset, of a type that orders', () => {
    const f = file(
      'position.yaml',
      `${ORDERS}datasets:
  clean:
    from: orders
    fields:
      id: string
      lsn: string
      ok: boolean
tables:
  by_lsn: { from: clean, mode: upsert, key: [id], position: lsn }
  nowhere: { from: clean, mode: upsert, key: [id], position: missing }
  flag: { from: clean, mode: upsert, key: [id], position: ok }
`,
    );
    expect(problems(() => loadPipelineFile(f))).toEqual([
      expect.stringMatching(/tables\.nowhere\.position: "missing" is not a field of dataset "clean"$/),
      expect.stringMatching(/tables\.flag\.position: "ok" is a boolean field: a position is a string \(an LSN\), integer/),
    ]);
  });

  it('refuses on_drift: evolve for tables that cannot take a new column (here scd2 and accumulating), naming the line where the policy is written', () => {
    const f = file(
      'evolve.yaml',
      `${PLAIN.replace('datasets: {}\n', '')}on_drift: evolve
datasets:
  staff:
    from: orders
    fields: { id: { type: integer, required: true }, name: string, at: timestamp }
  orders_ds:
    from: orders
    on_drift: evolve
    fields: { id: { type: integer, required: true }, amount: decimal }
tables:
  dim_staff: { from: staff, mode: scd2, key: [id] }
  fact_order: { from: orders_ds, mode: accumulating, key: [id], columns: { amount: sum } }
  staff_copy: { from: staff, mode: upsert, key: [id] }
`,
    );
    expect(problems(() => loadPipelineFile(f))).toEqual([
      '4:11 on_drift: on_drift: evolve adds columns to PostgreSQL tables of mode append, upsert; table "dim_staff" (from dataset "staff") is mode scd2',
      '11:15 datasets.orders_ds.on_drift: on_drift: evolve adds columns to PostgreSQL tables of mode append, upsert; table "fact_order" (from dataset "orders_ds") is mode accumulating',
    ]);
  });

  it('reports reference problems together with structural ones in the same file', () => {
    const f = file(
      'mixed.yaml',
      `${ORDERS}  feed: { kind: generator, generator: weather }
datasets:
  clean:
    from: nowhere
    fields:
      id: string
tables:
  t: { from: clean, mode: append, key: [missing] }
`,
    );
    const found = problems(() => loadPipelineFile(f));
    expect(found).toContainEqual(expect.stringMatching(/^6:39 sources\.feed\.generator: /));
    expect(found).toContainEqual(expect.stringMatching(/^9:11 datasets\.clean\.from: unknown source or dataset "nowhere"/));
    expect(found).toContainEqual(expect.stringMatching(/^13:41 tables\.t\.key\[0\]: key field "missing"/));
  });

  it('reports a dataset cycle and a missing schema file together', () => {
    const f = file(
      'late.yaml',
      `
pipeline: shop
sources:
  orders: { kind: push, schema: schemas/missing.json }
datasets:
  a: { from: [orders, b], fields: { id: string } }
  b: { from: a, fields: { id: string } }
`,
    );
    expect(problems(() => loadPipelineFile(f))).toEqual([
      expect.stringMatching(/^3:33 sources\.orders\.schema: schema schemas\/missing\.json .*no such file/),
      '5:14 datasets.a.from: datasets read from each other in a cycle: a -> b -> a',
    ]);
  });

  it('reports a YAML syntax error with its line and column', () => {
    const f = file('syntax.yaml', 'pipeline: shop\nsources:\n  orders: { kind: push\ndatasets: {}\n');
    const [p] = problems(() => loadPipelineFile(f));
    expect(p).toMatch(/^[34]:\d+ : YAML: /);
  });

  it('reports a file that cannot be read as TRIB_E_SPEC naming it', () => {
    expect(() => loadPipelineFile(path.join(dir, 'nope.yaml'))).toThrow(
      expect.objectContaining({ code: 'TRIB_E_SPEC', message: expect.stringMatching(/nope\.yaml: cannot read/) }),
    );
  });
});

describe('listPipelineFiles and loadPipelines', () => {
  let pdir: string;
  beforeAll(() => {
    pdir = path.join(dir, 'many');
    file('many/b.yaml', PLAIN.replace('shop', 'second'));
    file('many/a.yml', PLAIN);
    file('many/notes.txt', 'not a pipeline');
    file('many/sub/c.yaml', PLAIN);
  });

  it('lists the YAML files of a folder, sorted, skipping other files and subfolders', () => {
    expect(listPipelineFiles(pdir)).toEqual([path.join(pdir, 'a.yml'), path.join(pdir, 'b.yaml')]);
  });

  it('lists a single file as itself', () => {
    expect(listPipelineFiles(path.join(pdir, 'b.yaml'))).toEqual([path.join(pdir, 'b.yaml')]);
  });

  it('lists the files matching a glob, and none for a glob in a missing folder', () => {
    expect(listPipelineFiles(path.join(pdir, '*.yaml'))).toEqual([path.join(pdir, 'b.yaml')]);
    expect(listPipelineFiles(path.join(pdir, '?.y*'))).toEqual([path.join(pdir, 'a.yml'), path.join(pdir, 'b.yaml')]);
    expect(listPipelineFiles(path.join(dir, 'absent', '*.yaml'))).toEqual([]);
  });

  it('refuses a location that does not exist with TRIB_E_SPEC', () => {
    expect(() => listPipelineFiles(path.join(dir, 'absent'))).toThrow(expect.objectContaining({ code: 'TRIB_E_SPEC' }));
  });

  it('loads every pipeline of a folder', () => {
    expect(loadPipelines(pdir).map((p) => p.name)).toEqual(['shop', 'second']);
  });

  it('reports a pipeline name used by two files, naming both', () => {
    const d = path.join(dir, 'dupes');
    file('dupes/one.yaml', PLAIN);
    file('dupes/two.yaml', PLAIN);
    const details = [
      expect.objectContaining({
        file: path.join(d, 'two.yaml'),
        field: 'pipeline',
        message: expect.stringContaining(path.join(d, 'one.yaml')),
      }),
    ];
    expect(() => loadPipelines(d)).toThrow(expect.objectContaining({ code: 'TRIB_E_SPEC', details }));
  });
});

describe('YAML anchors, aliases and merge keys', () => {
  it('merges `<<: *anchor` into a source, and a later key overrides the merged one', () => {
    const p = loadPipelineFile(
      file(
        'anchors/merge.yaml',
        `
pipeline: anchors
connections:
  api: { kind: http, base_url: "http://127.0.0.1:1" }
sources:
  a: &rest
    kind: rest
    connection: api
    schedule: { every: 5m }
    request: { path: /a }
  b:
    <<: *rest
    request: { path: /b }
datasets:
  out: { from: [a, b], fields: { id: string } }
`,
      ),
    );
    expect(p.sources.b).toMatchObject({ kind: 'rest', connection: 'api', schedule: { every: 300_000 }, request: { path: '/b' } });
    expect(p.sources.a).toMatchObject({ request: { path: '/a' } });
  });

  it('an alias to an anchor that does not exist is an error naming the line', () => {
    const got = problems(() =>
      loadPipelineFile(file('anchors/missing.yaml', `\npipeline: anchors\nsources:\n  a: *nowhere\ndatasets: {}\n`)),
    );
    expect(got.join('\n')).toMatch(/^3:\d+ .*nowhere/m);
  });
});

describe('a kind that picks a variant', () => {
  it('names what is wrong: unknown, missing (with the keys present), or not a string', () => {
    const got = problems(() =>
      loadPipelineFile(
        file(
          'kinds.yaml',
          `
pipeline: kinds
sources:
  a: { kind: psuh }
  b: { schema: x.json }
  c: { kind: 3 }
datasets:
  out: { from: [a], fields: { id: string } }
`,
        ),
      ),
    );
    expect(got).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^3:\d+ sources\.a\.kind: unknown kind "psuh" \(known: push, generator, rest/),
        expect.stringMatching(/^4:\d+ sources\.b\.kind: "kind" is missing \(it must be one of: push, .*\); the object has "schema"$/),
        expect.stringMatching(/^5:\d+ sources\.c\.kind: "kind" must be a string/),
      ]),
    );
    expect(got.join('\n')).not.toContain('Invalid discriminator value');
  });
});
