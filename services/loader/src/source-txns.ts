/**
 * Source transactions stay whole (docs/design.md, Source transactions). The processed messages of
 * one change-data-capture batch (whole source transactions: an order, its lines, the dimension rows
 * it changed, one dataset and table each) reach the loader as separate messages, possibly on
 * different replicas and in different flushes. Each is staged in `tributary.txn_parts` inside the
 * flush's ledger transaction; the transaction that stages the last message of a group (every raw
 * part, every output of each: the `Trib-Txn-*` headers) takes the group's messages out and loads
 * them all, in that same transaction. So the group's rows become visible in one commit, and a
 * crash anywhere either keeps a message staged (its redelivery finds it) or commits it with its group.
 *
 * A transaction-scoped advisory lock per group makes two replicas staging the last two messages
 * of a group take turns: the second sees the first's commit and completes the group.
 *
 * A group whose every message is in the flush (the usual case: a CDC batch's outputs travel
 * together) is not staged: it loads from the flush's own messages, and any copy of one of them an
 * earlier flush staged (a redelivery) is removed. Staging would write each message's body into
 * `txn_parts`, read it back and decode it again in the same transaction.
 */
import { decodeNdjson } from '@tributary/contract/codec';
import type { PoolClient } from 'pg';
import type { LoadItem } from './sink';

/** Stages grouped items; returns what to load now: the ungrouped items and every group made complete. */
export async function stageSourceTxns(client: PoolClient, pipeline: string, items: LoadItem[]): Promise<LoadItem[]> {
  const grouped = items.filter((i) => i.txn);
  if (grouped.length === 0) return items;
  const ready = items.filter((i) => !i.txn);
  const groups = [...new Set(grouped.map((i) => i.txn!.group))].sort();
  // One lock order (sorted group IDs), so two flushes sharing groups wait instead of deadlocking;
  // all in one statement (the subquery's order is the order they are taken in).
  await client.query(
    'SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM (SELECT k FROM unnest($1::text[]) WITH ORDINALITY AS u(k, n) ORDER BY n) x',
    [groups.map((g) => `${pipeline} ${g}`)],
  );
  const whole = wholeGroups(grouped);
  const direct = whole.size > 0 ? await loadWhole(client, pipeline, grouped, whole) : [];
  const staged = await stageParts(
    client,
    pipeline,
    grouped.filter((i) => !whole.has(i.txn!.group)),
  );
  // In stream order, as the messages would have loaded one by one.
  return [...ready, ...[...staged, ...direct].sort((a, b) => a.seq - b.seq)];
}

/** The groups whose every message is among `grouped`: each raw part there with all its outputs. */
function wholeGroups(grouped: LoadItem[]): Set<string> {
  const byGroup = new Map<string, { parts: number; part: Map<number, { outputs: number; ids: Set<string> }> }>();
  for (const { txn, msgId } of grouped) {
    const g = byGroup.get(txn!.group) ?? { parts: 0, part: new Map() };
    byGroup.set(txn!.group, g);
    g.parts = Math.max(g.parts, txn!.parts);
    const p = g.part.get(txn!.part) ?? { outputs: 0, ids: new Set<string>() };
    g.part.set(txn!.part, p);
    p.outputs = Math.max(p.outputs, txn!.outputs);
    p.ids.add(msgId);
  }
  const whole = new Set<string>();
  for (const [id, g] of byGroup) if (g.part.size === g.parts && [...g.part.values()].every((p) => p.ids.size === p.outputs)) whole.add(id);
  return whole;
}

/** Records loaded groups (one row each: a redelivered message of them is not staged again). */
async function recordGroups(
  client: PoolClient,
  pipeline: string,
  rows: { group_id: string; source: string; lsn: string; commit_time: string | null }[],
): Promise<void> {
  await client.query(
    `INSERT INTO tributary.txn_groups (pipeline, group_id, source, lsn, commit_time, messages)
     SELECT $1, group_id, min(source), max(lsn::pg_lsn), max(commit_time::timestamptz), count(*)
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS u(group_id, source, lsn, commit_time)
      GROUP BY group_id
     ON CONFLICT (pipeline, group_id) DO NOTHING`,
    [pipeline, rows.map((r) => r.group_id), rows.map((r) => r.source), rows.map((r) => r.lsn), rows.map((r) => r.commit_time)],
  );
}

/** Loads the groups in `whole` from the flush's own messages, unless already loaded; returns their messages. */
async function loadWhole(client: PoolClient, pipeline: string, grouped: LoadItem[], whole: Set<string>): Promise<LoadItem[]> {
  const ids = [...whole].sort();
  const done = await client.query<{ group_id: string }>(
    'SELECT group_id FROM tributary.txn_groups WHERE pipeline = $1 AND group_id = ANY($2::text[])',
    [pipeline, ids],
  );
  const loaded = new Set(done.rows.map((r) => r.group_id));
  const fresh = ids.filter((g) => !loaded.has(g));
  if (fresh.length === 0) return [];
  await client.query('DELETE FROM tributary.txn_parts WHERE pipeline = $1 AND group_id = ANY($2::text[])', [pipeline, fresh]);
  const todo = new Set(fresh);
  const items = [...new Map(grouped.filter((i) => todo.has(i.txn!.group)).map((i) => [i.msgId, i])).values()];
  await recordGroups(
    client,
    pipeline,
    items.map((i) => ({ group_id: i.txn!.group, source: i.txn!.source, lsn: i.txn!.lsn, commit_time: i.txn!.commitAt ?? null })),
  );
  return items;
}

/** Stages `grouped` in txn_parts; returns the messages of every group that made complete. */
async function stageParts(client: PoolClient, pipeline: string, grouped: LoadItem[]): Promise<LoadItem[]> {
  if (grouped.length === 0) return [];
  const groups = [...new Set(grouped.map((i) => i.txn!.group))].sort();
  // A message of a group already loaded (redelivered after its commit) is not staged again.
  await client.query(
    `INSERT INTO tributary.txn_parts (pipeline, group_id, msg_id, source, part, parts, outputs, lsn, commit_time,
                                      dataset, stream_seq, ingested_at, source_time, model, body)
     SELECT $1, g, m, s, p, n, o, l::pg_lsn, c, d, q, i, st, md, b
       FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::int[], $8::text[], $9::timestamptz[],
                   $10::text[], $11::bigint[], $12::float8[], $13::text[], $14::text[], $15::bytea[])
            AS u(g, m, s, p, n, o, l, c, d, q, i, st, md, b)
      WHERE NOT EXISTS (SELECT 1 FROM tributary.txn_groups t WHERE t.pipeline = $1 AND t.group_id = u.g)
     ON CONFLICT (pipeline, group_id, msg_id) DO NOTHING`,
    [
      pipeline,
      grouped.map((i) => i.txn!.group),
      grouped.map((i) => i.msgId),
      grouped.map((i) => i.txn!.source),
      grouped.map((i) => i.txn!.part),
      grouped.map((i) => i.txn!.parts),
      grouped.map((i) => i.txn!.outputs),
      grouped.map((i) => i.txn!.lsn),
      grouped.map((i) => i.txn!.commitAt ?? null),
      grouped.map((i) => i.dataset),
      grouped.map((i) => i.seq),
      grouped.map((i) => i.ingestedAt),
      grouped.map((i) => i.sourceTime ?? null),
      grouped.map((i) => i.model ?? null),
      grouped.map((i) => i.body ?? Buffer.from(i.records.map((r) => JSON.stringify(r)).join('\n'))),
    ],
  );
  // Complete: every raw part is there, each with all its outputs.
  const complete = await client.query<{ group_id: string }>(
    `SELECT group_id FROM (
       SELECT group_id, part, max(parts) AS parts, max(outputs) AS outputs, count(*) AS n
         FROM tributary.txn_parts WHERE pipeline = $1 AND group_id = ANY($2::text[])
        GROUP BY group_id, part) per
      GROUP BY group_id
     HAVING count(*) = max(parts) AND bool_and(n = outputs)`,
    [pipeline, groups],
  );
  if (complete.rows.length === 0) return [];
  const done = complete.rows.map((r) => r.group_id);
  const parts = await client.query<{
    group_id: string;
    msg_id: string;
    source: string;
    lsn: string;
    commit_time: string | null;
    dataset: string;
    stream_seq: string;
    ingested_at: number;
    source_time: string | null;
    model: string | null;
    body: Buffer;
  }>(
    `DELETE FROM tributary.txn_parts WHERE pipeline = $1 AND group_id = ANY($2::text[])
     RETURNING group_id, msg_id, source, lsn::text, commit_time::text, dataset, stream_seq::text, ingested_at, source_time, model, body`,
    [pipeline, done],
  );
  await recordGroups(client, pipeline, parts.rows);
  return parts.rows.map((r): LoadItem => ({
    msgId: r.msg_id,
    dataset: r.dataset,
    seq: Number(r.stream_seq),
    ingestedAt: r.ingested_at,
    ...(r.source_time ? { sourceTime: r.source_time } : {}),
    ...(r.model ? { model: r.model } : {}),
    records: decodeNdjson(r.body),
  }));
}
