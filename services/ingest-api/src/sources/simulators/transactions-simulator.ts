/**
 * The card-transaction simulator behind the `generator: transactions` source: card payments at
 * merchants in cities around the world, with a small share of fraud patterns for the fraud rules
 * of `pipelines/transactions.yaml` to find:
 * - a velocity burst: one card paying six times within a minute;
 * - an amount spike: ten times or more the card's usual amount;
 * - impossible travel: a payment thousands of kilometres from the card's previous one, minutes later.
 * Deterministic for a seed. Event times never go backwards per card, as card networks deliver them.
 */
import { Faker, en } from '@faker-js/faker';
import { CATEGORIES, CITIES, HOME_CITIES } from './card-world';

/** A simulated card payment as a payment processor would send it. */
export interface CardTransaction {
  tx_id: string;
  card_id: string;
  merchant_id: string;
  merchant_name: string;
  merchant_category: string;
  city: string;
  country: string;
  lat: number;
  lon: number;
  amount: number;
  currency: string;
  channel: 'chip' | 'contactless' | 'online';
  at: string;
}

/**
 * Share of draws that start a fraud pattern. A pattern makes 2 to 6 payments of which 1 or 2 are
 * flagged, so about 2% of all payments are flagged: the share card networks see in alerts.
 */
export const DEFAULT_FRAUD_RATIO = 0.012;
/** A neighbouring city: the pipeline's impossible-travel rule ignores distances under 500 km. */
const NEIGHBOUR_KM = 450;

interface Card {
  id: string;
  home: number;
  /** Usual amount of a payment. */
  usual: number;
  /** Last payment: city and time, so event times never go backwards and travel can be impossible. */
  lastCity: number;
  lastAt: number;
}

interface Merchant {
  id: string;
  name: string;
  category: string;
  city: number;
}

/** Produces card transactions; `fraudRatio` of them start a fraud pattern, `invalidRatio` are broken. */
export class TransactionsSimulator {
  private readonly faker: Faker;
  private readonly cards: Card[];
  private readonly merchants: Merchant[];
  private n = 0;
  /** Records of a pattern that did not fit into the last call. */
  private readonly pending: Record<string, unknown>[] = [];

  constructor(private readonly opts: { seed?: number; invalidRatio?: number; fraudRatio?: number; cards?: number; idPrefix: string }) {
    this.faker = new Faker({ locale: [en] });
    if (opts.seed !== undefined) this.faker.seed(opts.seed);
    const f = this.faker;
    this.merchants = CITIES.flatMap((_, city) =>
      Array.from({ length: 8 }, (_, i) => ({
        id: `M${String(city * 8 + i + 1).padStart(4, '0')}`,
        name: f.company.name(),
        category: f.helpers.arrayElement(CATEGORIES),
        city,
      })),
    );
    this.cards = Array.from({ length: opts.cards ?? 500 }, (_, i) => ({
      id: `C${String(i + 1).padStart(6, '0')}`,
      home: f.number.int({ min: 0, max: HOME_CITIES - 1 }),
      usual: Math.round(f.number.float({ min: 8, max: 120 }) * 100) / 100,
      lastCity: -1,
      lastAt: 0,
    }));
  }

  /** The next `count` records, stamped up to `now`. */
  next(count: number, now = Date.now()): Record<string, unknown>[] {
    const f = this.faker;
    // A pattern is made whole; what does not fit into this call is handed out by the next one
    // (a generator ticking 2 records at a time would otherwise cut every pattern short).
    const out: Record<string, unknown>[] = this.pending.splice(0, count);
    while (out.length < count) {
      const card = f.helpers.arrayElement(this.cards);
      const fraud = f.number.float({ min: 0, max: 1 }) < (this.opts.fraudRatio ?? DEFAULT_FRAUD_RATIO);
      const pattern = fraud ? f.helpers.arrayElement(['velocity', 'amount', 'travel'] as const) : 'normal';
      // Each pattern brings the history its rule needs, so it is found whatever the card did before.
      if (pattern === 'velocity') {
        // Six payments within a minute, at merchants of the card's home city.
        for (let i = 0; i < 6; i++) out.push(this.payment(card, this.localCity(card), card.usual, now - (5 - i) * 8_000));
        continue;
      }
      if (pattern === 'travel') {
        // A payment at home, then one on another continent twenty minutes later.
        out.push(this.payment(card, card.home, card.usual, now - 20 * 60_000));
        const far = CITIES.flatMap((c, i) => (distance(CITIES[card.home]!, c) > 3000 ? [i] : []));
        out.push(this.payment(card, f.helpers.arrayElement(far), card.usual, now));
        continue;
      }
      if (pattern === 'amount') {
        // Three usual payments over the previous hours, then ten to twenty times the usual amount.
        for (let h = 3; h > 0; h--)
          out.push(this.payment(card, card.home, card.usual * f.number.float({ min: 0.5, max: 1.5 }), now - h * 3_600_000));
        out.push(this.payment(card, card.home, card.usual * f.number.float({ min: 10, max: 20 }), now));
        continue;
      }
      out.push(
        this.payment(
          card,
          this.localCity(card),
          card.usual * f.number.float({ min: 0.3, max: 1.8 }),
          now - f.number.int({ min: 0, max: 500 }),
        ),
      );
    }
    this.pending.push(...out.splice(count));
    return out;
  }

  /** Mostly the card's home city, sometimes a neighbouring one (within reach: never "impossible travel"). */
  private localCity(card: Card): number {
    const f = this.faker;
    if (f.number.float({ min: 0, max: 1 }) < 0.9) return card.home;
    const near = CITIES.flatMap((c, i) => (distance(CITIES[card.home]!, c) < NEIGHBOUR_KM ? [i] : []));
    return f.helpers.arrayElement(near);
  }

  private payment(card: Card, city: number, amount: number, at: number): Record<string, unknown> {
    const f = this.faker;
    const m = f.helpers.arrayElement(this.merchants.filter((x) => x.city === city));
    const [name, country, lat, lon, currency] = CITIES[city]!;
    // Per card, time only moves forward (a processor delivers a card's payments in order).
    const t = Math.max(at, card.lastAt + 1);
    card.lastAt = t;
    card.lastCity = city;
    this.n++;
    const rec: Record<string, unknown> = {
      tx_id: `${this.opts.idPrefix}-${this.n}`,
      card_id: card.id,
      merchant_id: m.id,
      merchant_name: m.name,
      merchant_category: m.category,
      city: name,
      country,
      lat,
      lon,
      amount: Math.round(amount * 100) / 100,
      currency,
      channel: f.helpers.arrayElement(['chip', 'contactless', 'online'] as const),
      at: new Date(t).toISOString(),
    } satisfies CardTransaction as unknown as Record<string, unknown>;
    if (this.opts.invalidRatio && f.number.float({ min: 0, max: 1 }) < this.opts.invalidRatio) {
      delete rec.card_id; // missing a required field: rejected by the source schema
    }
    return rec;
  }
}

/** Great-circle distance in km between two cities. */
function distance(a: (typeof CITIES)[number], b: (typeof CITIES)[number]): number {
  const [, , lat1, lon1] = a;
  const [, , lat2, lon2] = b;
  const r = Math.PI / 180;
  const h = Math.sin(((lat2 - lat1) * r) / 2) ** 2 + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(((lon2 - lon1) * r) / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(h));
}
