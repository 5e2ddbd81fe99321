#!/usr/bin/env node
/**
 * Generates the operational data of the sales pipeline (pipelines/sales.yaml): staff, addresses,
 * designs, currencies, counterparties (with later changes, so the scd2 dimensions get versions)
 * and sales orders as events (created, then updated, then delivered). Deterministic for a seed.
 *
 *   node pipelines/sales/generate-sales.js [--seed 1] [--orders 300] [--out pipelines/sales/samples]
 *   node pipelines/sales/generate-sales.js --push http://localhost:8081    # POST to the ingest API
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const { rng, FIRST, LAST, DEPTS, CITIES, DESIGNS, COMPANIES } = require('./sales-vocabulary');

const iso = (ms) => new Date(ms).toISOString();
const day = (ms) => iso(ms).slice(0, 10);
const DAY = 86_400_000;

/**
 * The records of each operational table, in the order a change feed would emit them.
 * @param {{ seed?: number, orders?: number }} [opts]
 */
function generateSales(opts = {}) {
  const r = rng(opts.seed ?? 1);
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const int = (lo, hi) => lo + Math.floor(r() * (hi - lo + 1));
  const t0 = Date.UTC(2023, 11, 1);
  const mid = Date.UTC(2024, 5, 1);
  const out = { staff: [], address: [], design: [], currency: [], counterparty: [], sales_order: [] };

  out.currency.push(
    { currency_id: 1, currency_code: 'GBP', currency_name: 'Pound sterling' },
    { currency_id: 2, currency_code: 'USD', currency_name: 'US dollar' },
    { currency_id: 3, currency_code: 'EUR', currency_name: 'Euro' },
  );
  for (let id = 1; id <= 12; id++) {
    const [dept, loc] = pick(DEPTS);
    const first = FIRST[(id - 1) % FIRST.length];
    const last = pick(LAST);
    const base = { staff_id: id, first_name: first, last_name: last, email_address: `${first}.${last}@example.com`.toLowerCase() };
    out.staff.push({ ...base, department_name: dept, location: loc, last_updated: iso(t0 + id * 1000) });
    // A third of the staff move department in June: orders before it credit the old one.
    if (id % 3 === 0) {
      const [d2, l2] = DEPTS[(DEPTS.findIndex((d) => d[0] === dept) + 1) % DEPTS.length];
      out.staff.push({ ...base, department_name: d2, location: l2, last_updated: iso(mid + id * 1000) });
    }
  }
  for (let id = 1; id <= 20; id++) {
    const [city, country] = pick(CITIES);
    out.address.push({
      location_id: id,
      address_line_1: `${int(1, 200)} ${pick(LAST)} Street`,
      address_line_2: r() < 0.5 ? null : `Unit ${int(1, 9)}`,
      district: null,
      city,
      postal_code: String(int(10000, 99999)),
      country,
      phone: `+44 ${int(1000, 9999)} ${int(100000, 999999)}`,
      last_updated: iso(t0 + id * 1000),
    });
  }
  for (let id = 1; id <= 10; id++) {
    const name = DESIGNS[id - 1];
    out.design.push({
      design_id: id,
      design_name: name,
      file_location: '/designs',
      file_name: `${name.toLowerCase()}-${id}.json`,
      last_updated: iso(t0 + id * 1000),
    });
  }
  for (let id = 1; id <= 8; id++) {
    const [city, country] = pick(CITIES);
    const base = {
      counterparty_id: id,
      counterparty_legal_name: COMPANIES[id - 1],
      counterparty_legal_city: city,
      counterparty_legal_country: country,
    };
    out.counterparty.push({ ...base, last_updated: iso(t0 + id * 1000) });
    if (id % 4 === 0)
      out.counterparty.push({ ...base, counterparty_legal_name: `${COMPANIES[id - 1]} (Holdings)`, last_updated: iso(mid + id * 1000) });
  }
  const n = opts.orders ?? 300;
  for (let id = 1; id <= n; id++) {
    const created = Date.UTC(2024, 0, 2) + Math.floor(r() * 340) * DAY + int(0, 86_399) * 1000;
    const agreed = created + int(3, 20) * DAY;
    const order = {
      sales_order_id: id,
      created_at: iso(created),
      last_updated: iso(created),
      staff_id: int(1, 12),
      counterparty_id: int(1, 8),
      units_sold: int(1, 50) * 100,
      unit_price: int(200, 400) / 100,
      currency_id: r() < 0.7 ? 1 : int(2, 3),
      design_id: int(1, 10),
      agreed_payment_date: day(created + 30 * DAY),
      agreed_delivery_date: day(agreed),
      agreed_delivery_location_id: int(1, 20),
    };
    out.sales_order.push(order);
    // Some orders are renegotiated: a later event changes units and the agreed delivery date.
    if (r() < 0.3) {
      order.units_sold = int(1, 50) * 100;
      order.agreed_delivery_date = day(agreed + int(1, 5) * DAY);
      out.sales_order.push({ ...order, last_updated: iso(created + DAY) });
    }
    // Most are delivered: the delivery event carries only its milestone.
    if (r() < 0.8) {
      const delivered = agreed + int(-2, 3) * DAY;
      out.sales_order.push({ sales_order_id: id, last_updated: iso(delivered), delivered_at: iso(delivered) });
    }
  }
  return out;
}

module.exports = { generateSales };

async function main(argv) {
  const arg = (name, fallback) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : fallback;
  };
  const data = generateSales({ seed: Number(arg('seed', '1')), orders: Number(arg('orders', '300')) });
  const push = arg('push', undefined);
  if (push) {
    // Dimensions first, so most orders find their members (the rest get inferred members).
    for (const [source, records] of Object.entries(data)) {
      const res = await fetch(`${push}/v1/pipelines/sales/sources/${source}/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `sales-sample-${source}-${arg('seed', '1')}` },
        body: JSON.stringify(records),
      });
      process.stdout.write(`${source}: ${res.status} ${await res.text()}\n`);
    }
    return;
  }
  const dir = arg('out', path.join(__dirname, 'samples'));
  fs.mkdirSync(dir, { recursive: true });
  for (const [source, records] of Object.entries(data)) {
    fs.writeFileSync(path.join(dir, `${source}.ndjson`), records.map((x) => JSON.stringify(x)).join('\n') + '\n');
    process.stdout.write(`wrote ${records.length} ${source} records to ${path.join(dir, `${source}.ndjson`)}\n`);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`${err.stack || err}\n`);
    process.exit(1);
  });
}
