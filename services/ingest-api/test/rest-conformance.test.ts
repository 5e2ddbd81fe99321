/**
 * The rest source passes the pull-source conformance suite, against the fake API's `/generic/offset`
 * list: incremental on `updated_at` (exclusive bounds), offset pagination.
 */
import { FakeApis } from '@tributary/testkit';
import { create } from '../src/sources/rest';
import { pullSourceConformance } from './conformance';

pullSourceConformance('rest', async (h, id) => {
  const fake = await new FakeApis({ genericItems: 0 }).start();
  process.env.CONFORMANCE_KEY = 'conformance-key';
  const pipeline = h.pipeline(`
pipeline: ${id}
connections:
  api: { kind: http, base_url: "${fake.url}", auth: { type: api_key, in: query, name: apikey, secret: env:CONFORMANCE_KEY } }
sources:
  items:
    kind: rest
    connection: api
    request: { path: /generic/offset, query: { updated_after: "{{ window.start }}", updated_before: "{{ window.end }}" } }
    records: items
    pagination: { type: offset, size: 5 }
    incremental: { start: 2000-01-01T00:00:00Z, cursor_field: updated_at }
datasets:
  out: { from: items, fields: { id: string } }
`);
  return {
    pipeline,
    source: 'items',
    batch: 5,
    create: () => create.pull(pipeline.sources.items as never, { pipeline, name: 'items', ingestor: undefined as never, logger: h.logger }),
    add: async (n) => fake.addGenericItems(n),
    keyOf: (r) => String(r.id),
    expectedKeys: async () => Array.from({ length: fake.genericItems }, (_, i) => `item-${String(i).padStart(4, '0')}`),
    close: () => fake.stop(),
  };
});
