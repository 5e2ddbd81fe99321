import { parsePipelineSpec } from '../load-pipeline';
import { sessionFields, sessionStepSpec } from './session';
import { slidingStepSpec } from './sliding';

/** The problems of a spec text, as `field: message`. */
function problems(text: string): string[] {
  return parsePipelineSpec(text, 'p.yaml').problems.map((p) => `${p.field}: ${p.message}`);
}

const BASE = `
pipeline: p
sources:
  a: { kind: push }
  b: { kind: push }
datasets:
  left:
    from: a
    fields: { id: string, k: string, t: timestamp }
  right:
    from: b
    fields: { k: string, t: timestamp, v: number }
`;

describe('stateful step specs', () => {
  it('accepts a join that lists its partner in `from`', () => {
    const text = `${BASE}
  joined:
    from: [left, right]
    fields: { id: string, v: number }
    steps:
      - join: { with: right, on: { k: k }, time: t, partner_time: t, within: 1h, fields: { v: v }, on_timeout: drop }
`;
    expect(problems(text)).toEqual([]);
  });

  it('rejects a join whose partner is not an input of the dataset, and a second join', () => {
    const text = `${BASE}
  joined:
    from: left
    fields: { id: string, v: number }
    steps:
      - join: { with: right, on: { k: k }, time: t, partner_time: t, within: 1h, fields: { v: v } }
  twice:
    from: [left, right]
    fields: { id: string }
    steps:
      - join: { with: right, on: { k: k }, time: t, partner_time: t, within: 1h, fields: { v: v } }
      - join: { with: right, on: { k: k }, time: t, partner_time: t, within: 1h, fields: { v: v } }
`;
    expect(problems(text)).toEqual([
      `datasets.joined.steps[0].join.with: "right" must be listed in this dataset's \`from\``,
      'datasets.twice.steps[1]: one join per dataset (join the result in another dataset)',
    ]);
  });

  it('derives a session dataset and insists the session step comes last', () => {
    const text = `${BASE}
  visits:
    from: left
    fields: { id: string }
    steps:
      - session: { key: [k], time: t, gap: 5m, aggregate: { n: count() } }
      - filter: 'n > 1'
`;
    expect(problems(text)).toEqual([
      'datasets.visits.steps[0]: a session step must be the last step (read its rows from another dataset to go on)',
      "datasets.visits.fields: a session dataset's fields are derived from its session step: remove `fields`",
    ]);
    const cfg = sessionStepSpec.parse({ key: ['k'], time: 't', gap: '5m', aggregate: { n: 'count()', top: 'max(v)' } });
    expect(sessionFields(cfg, { k: 'string', v: 'integer' }).map((f) => `${f.name}:${f.type}`)).toEqual([
      'session_start:timestamp',
      'session_end:timestamp',
      'record_count:integer',
      'k:string',
      'n:integer',
      'top:integer',
    ]);
  });

  it('requires a sliding window to add something, and aggregates with a field to name one', () => {
    expect(slidingStepSpec.safeParse({ key: ['k'], time: 't', size: '10m' }).error?.issues[0]?.message).toBe(
      'declare at least one field in `aggregate` or `previous`',
    );
    expect(slidingStepSpec.safeParse({ key: ['k'], time: 't', size: '10m', aggregate: { s: 'sum()' } }).error?.issues[0]?.message).toBe(
      'sum() needs a field',
    );
  });
});
