/**
 * Records handed to a pull context as `JsonLines` (already JSON text, as the CDC snapshot's COPY
 * read has them): without a schema they travel as they are, with the source time given; with a
 * schema each is parsed and checked like any record, and one that fails is dead-lettered. Real NATS.
 */
import { stopAll } from '@tributary/testkit';
import { JsonLines } from '../src/record-ingestor';
import { PullHarness } from './pull-harness';

let h: PullHarness;

beforeAll(async () => {
  h = await PullHarness.start();
});
afterAll(async () => {
  await h.close();
  await stopAll();
});

const pipeline = () =>
  h.pipeline(
    `
pipeline: lines
sources:
  plain: { kind: push }
  checked: { kind: push, schema: item.json }
datasets:
  a: { from: plain, fields: { id: integer } }
  b: { from: checked, fields: { id: integer } }
`,
    { 'item.json': JSON.stringify({ type: 'object', required: ['id'], properties: { id: { type: 'integer' } } }) },
  );

it('publishes JSON lines as they are without a schema, and checks each against one', async () => {
  const p = pipeline();
  const lines = ['{"id":1,"big":"9007199254740993","_commit_at":"2026-12-07T01:02:03.456789Z"}', '{"id":"x"}'];
  const at = '2026-12-07T01:02:03.456789Z';

  const plain = await (await h.context(p, 'plain')).publish(new JsonLines(lines), 'snap:0', { at });
  expect(plain).toMatchObject({ accepted: 2, rejected: 0, messages: 1 });
  const [msg] = await h.env.raw('lines', 'plain');
  expect(msg).toMatchObject({ msgId: 'lines/plain:snap:0', sourceTime: at });
  expect(msg!.records).toEqual([{ id: 1, big: '9007199254740993', _commit_at: at }, { id: 'x' }]);

  const checked = await (await h.context(p, 'checked')).publish(new JsonLines(lines), 'snap:0', { field: '_commit_at' });
  expect(checked).toMatchObject({ accepted: 1, rejected: 1, errors: [{ index: 1, field: 'id' }] });
  expect((await h.env.raw('lines', 'checked')).flatMap((m) => m.records)).toEqual([{ id: 1, big: '9007199254740993', _commit_at: at }]);
  expect(await h.env.deadLetters('lines', 'checked')).toHaveLength(1);
});
