#!/usr/bin/env node
/**
 * The operational sales database behind pipelines/variants/sales-cdc.yaml: creates it, seeds it,
 * and then behaves like the order-taking application: new orders, renegotiations, deliveries,
 * payments, staff moving department, renamed counterparties, new designs, cancelled orders.
 * Deterministic for a seed (given the same starting database).
 *
 *   node scripts/sales-oltp.js setup [--url postgres://127.0.0.1:5432/sales_oltp] [--seed 1]
 *   node scripts/sales-oltp.js run   [--url ...] [--rate 5] [--duration 60] [--count N] [--seed 1]
 *
 * The URL defaults to $SALES_DB_URL, then postgres://127.0.0.1:5432/sales_oltp. `setup` creates
 * the database when missing (it needs CREATEDB) and applies pipelines/sales-oltp/schema.sql.
 * postgres_cdc needs the server running with wal_level=logical and a user with REPLICATION.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { Client } = require('pg');

const SCHEMA = path.join(__dirname, '..', 'pipelines', 'sales-oltp', 'schema.sql');

const { rng, FIRST, LAST, DEPTS, CITIES, DESIGNS, COMPANIES } = require('../pipelines/sales/sales-vocabulary');

function parseArgs(argv) {
  const out = { command: argv[0] };
  for (let i = 1; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  return out;
}

/** Creates the database named in `url` when it does not exist. */
async function ensureDatabase(url) {
  const probe = new Client({ connectionString: url });
  try {
    await probe.connect();
    await probe.end();
    return;
  } catch (err) {
    await probe.end().catch(() => undefined);
    if (err.code !== '3D000') throw err;
  }
  const admin = new URL(url);
  const name = decodeURIComponent(admin.pathname.slice(1));
  admin.pathname = '/postgres';
  const c = new Client({ connectionString: admin.toString() });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } finally {
    await c.end();
  }
}

/** Applies the schema and seeds reference data once. */
async function setup(db, r) {
  await db.query(fs.readFileSync(SCHEMA, 'utf8'));
  if ((await db.query('SELECT count(*)::int AS n FROM currency')).rows[0].n > 0) return 'already seeded';
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const int = (lo, hi) => lo + Math.floor(r() * (hi - lo + 1));
  await db.query('BEGIN');
  await db.query(`INSERT INTO currency (currency_code) VALUES ('GBP'), ('USD'), ('EUR')`);
  await db.query(`INSERT INTO payment_type (payment_type_name) VALUES ('SALES_RECEIPT'), ('SALES_REFUND'), ('PURCHASE_PAYMENT')`);
  for (const [name, loc] of DEPTS)
    await db.query('INSERT INTO department (department_name, location, manager) VALUES ($1, $2, $3)', [
      name,
      loc,
      `${pick(FIRST)} ${pick(LAST)}`,
    ]);
  for (let i = 0; i < 12; i++) {
    const first = FIRST[i % FIRST.length];
    const last = pick(LAST);
    await db.query('INSERT INTO staff (first_name, last_name, department_id, email_address) VALUES ($1, $2, $3, $4)', [
      first,
      last,
      int(1, DEPTS.length),
      `${first}.${last}@example.com`.toLowerCase(),
    ]);
  }
  for (let i = 0; i < 20; i++) {
    const [city, country] = pick(CITIES);
    await db.query(
      'INSERT INTO address (address_line_1, address_line_2, city, postal_code, country, phone) VALUES ($1, $2, $3, $4, $5, $6)',
      [
        `${int(1, 200)} ${pick(LAST)} Street`,
        r() < 0.5 ? null : `Unit ${int(1, 9)}`,
        city,
        String(int(10000, 99999)),
        country,
        `+44 ${int(1000, 9999)} ${int(100000, 999999)}`,
      ],
    );
  }
  for (const [i, name] of DESIGNS.entries()) {
    await db.query('INSERT INTO design (design_name, file_location, file_name) VALUES ($1, $2, $3)', [
      name,
      '/designs',
      `${name.toLowerCase()}-${i + 1}.json`,
    ]);
  }
  for (const name of COMPANIES) {
    await db.query(
      'INSERT INTO counterparty (counterparty_legal_name, legal_address_id, commercial_contact, delivery_contact) VALUES ($1, $2, $3, $4)',
      [name, int(1, 20), `${pick(FIRST)} ${pick(LAST)}`, `${pick(FIRST)} ${pick(LAST)}`],
    );
  }
  await db.query('COMMIT');
  return 'seeded';
}

/** A random row id of `sql` (a query of ids), chosen by the seeded generator. */
async function pickId(db, r, sql) {
  const n = (await db.query(`SELECT count(*)::int AS n FROM (${sql}) s`)).rows[0].n;
  if (n === 0) return undefined;
  return (await db.query(`${sql} ORDER BY 1 OFFSET $1 LIMIT 1`, [Math.floor(r() * n)])).rows[0].id;
}

/** The application's business transactions, with their weights. */
const ACTIONS = [
  [
    40,
    'order',
    async (db, r, int) => {
      const counts = (
        await db.query(
          'SELECT (SELECT max(design_id) FROM design) d, (SELECT max(staff_id) FROM staff) s, (SELECT max(counterparty_id) FROM counterparty) c',
        )
      ).rows[0];
      await db.query(
        `INSERT INTO sales_order (design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id, agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id)
       VALUES ($1, $2, $3, $4, $5, $6, current_date + $7::int, current_date + $8::int, $9)`,
        [
          int(1, counts.d),
          int(1, counts.s),
          int(1, counts.c),
          int(1, 50) * 100,
          int(200, 400) / 100,
          r() < 0.7 ? 1 : int(2, 3),
          int(3, 20),
          int(25, 40),
          int(1, 20),
        ],
      );
    },
  ],
  [
    15,
    'renegotiate',
    async (db, r, int) => {
      const id = await pickId(db, r, 'SELECT sales_order_id AS id FROM sales_order WHERE delivered_at IS NULL');
      if (id)
        await db.query(
          'UPDATE sales_order SET units_sold = $1, agreed_delivery_date = agreed_delivery_date + $2::int WHERE sales_order_id = $3',
          [int(1, 50) * 100, int(1, 5), id],
        );
    },
  ],
  [
    20,
    'deliver',
    async (db, r) => {
      const id = await pickId(db, r, 'SELECT sales_order_id AS id FROM sales_order WHERE delivered_at IS NULL');
      if (id) await db.query('UPDATE sales_order SET delivered_at = now() WHERE sales_order_id = $1', [id]);
    },
  ],
  [
    15,
    'payment',
    async (db, r, int) => {
      const id = await pickId(
        db,
        r,
        'SELECT o.sales_order_id AS id FROM sales_order o WHERE delivered_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM payment p WHERE p.sales_order_id = o.sales_order_id)',
      );
      if (!id) return;
      await db.query(
        `INSERT INTO payment (sales_order_id, counterparty_id, payment_amount, currency_id, payment_type_id, paid, payment_date, company_ac_number, counterparty_ac_number)
       SELECT sales_order_id, counterparty_id, units_sold * unit_price, currency_id, 1, true, current_date, $2, $3 FROM sales_order WHERE sales_order_id = $1`,
        [id, String(int(10000000, 99999999)), String(int(10000000, 99999999))],
      );
    },
  ],
  [
    3,
    'staff_move',
    async (db, r, int) => {
      const id = await pickId(db, r, 'SELECT staff_id AS id FROM staff');
      await db.query('UPDATE staff SET department_id = $1 WHERE staff_id = $2', [int(1, DEPTS.length), id]);
    },
  ],
  [
    2,
    'counterparty_rename',
    async (db, r) => {
      const id = await pickId(db, r, 'SELECT counterparty_id AS id FROM counterparty');
      await db.query(
        `UPDATE counterparty SET counterparty_legal_name = regexp_replace(counterparty_legal_name, ' \\(Holdings\\)$', '') || CASE WHEN counterparty_legal_name LIKE '% (Holdings)' THEN '' ELSE ' (Holdings)' END WHERE counterparty_id = $1`,
        [id],
      );
    },
  ],
  [
    2,
    'address_phone',
    async (db, r, int) => {
      const id = await pickId(db, r, 'SELECT address_id AS id FROM address');
      await db.query('UPDATE address SET phone = $1 WHERE address_id = $2', [`+44 ${int(1000, 9999)} ${int(100000, 999999)}`, id]);
    },
  ],
  [
    2,
    'design',
    async (db, r, int) => {
      const name = `${DESIGNS[int(0, DESIGNS.length - 1)]} ${int(2, 99)}`;
      await db.query('INSERT INTO design (design_name, file_location, file_name) VALUES ($1, $2, $3)', [
        name,
        '/designs',
        `${name.toLowerCase().replace(' ', '-')}.json`,
      ]);
    },
  ],
  [
    1,
    'cancel',
    async (db, r) => {
      const id = await pickId(db, r, 'SELECT sales_order_id AS id FROM sales_order WHERE delivered_at IS NULL');
      if (id) await db.query('DELETE FROM sales_order WHERE sales_order_id = $1', [id]);
    },
  ],
];

/** Runs business transactions at `rate` per second until `count` or `durationMs` is reached. */
async function run(db, r, { rate, count, durationMs, log }) {
  const int = (lo, hi) => lo + Math.floor(r() * (hi - lo + 1));
  const total = ACTIONS.reduce((s, a) => s + a[0], 0);
  const done = {};
  const started = Date.now();
  for (let n = 0; n < count && Date.now() - started < durationMs; n++) {
    let x = r() * total;
    const [, name, fn] = ACTIONS.find(([w]) => (x -= w) < 0) ?? ACTIONS[0];
    await db.query('BEGIN');
    try {
      await fn(db, r, int);
      await db.query('COMMIT');
    } catch (err) {
      await db.query('ROLLBACK');
      throw err;
    }
    done[name] = (done[name] ?? 0) + 1;
    if (rate > 0) {
      const due = started + ((n + 1) * 1000) / rate;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    }
    if (log && (n + 1) % 100 === 0) log(`${n + 1} transactions: ${JSON.stringify(done)}`);
  }
  return done;
}

async function main(argv) {
  const args = parseArgs(argv);
  const url = args.url ?? process.env.SALES_DB_URL ?? 'postgres://postgres@127.0.0.1:5432/sales_oltp';
  const r = rng(Number(args.seed ?? 1));
  if (args.command !== 'setup' && args.command !== 'run') {
    process.stderr.write('usage: sales-oltp.js setup|run [--url URL] [--seed N] [--rate TX_PER_S] [--duration S] [--count N]\n');
    process.exit(2);
  }
  if (args.command === 'setup') await ensureDatabase(url);
  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    if (args.command === 'setup') {
      process.stdout.write(`sales OLTP at ${url.replace(/\/\/[^@/]*@/, '//***@')}: ${await setup(db, r)}\n`);
    } else {
      const done = await run(db, r, {
        rate: Number(args.rate ?? 5),
        count: args.count ? Number(args.count) : Infinity,
        durationMs: args.duration ? Number(args.duration) * 1000 : Infinity,
        log: (m) => process.stdout.write(`${m}\n`),
      });
      process.stdout.write(`done: ${JSON.stringify(done)}\n`);
    }
  } finally {
    await db.end();
  }
}

module.exports = { setup, run, ensureDatabase };

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`${err.stack || err}\n`);
    process.exit(1);
  });
}
