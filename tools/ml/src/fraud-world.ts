/**
 * Labelled card payments for training and evaluating the fraud model: days of payments by cards
 * living in European cities, with fraud episodes whose payments are labelled 1.
 *
 * It has the three patterns of the live simulator (`generator: transactions`, the obvious cases
 * the rules of pipelines/transactions.yaml catch: six payments within a minute, ten times the
 * usual amount, another continent minutes later) plus what rules with fixed thresholds get wrong:
 * - subtler fraud: three or four quick payments, card testing (tiny online payments, then a large
 *   one), three to five times the usual amount at night, a distant city hours (not minutes) later;
 * - legitimate look-alikes: market days with five or more small payments in ten minutes, a yearly
 *   large purchase, real trips (a far city the next day).
 * Its own generator (not the simulator) because training needs the labels, and these variants,
 * that the live stream has no reason to carry; the cities, categories and the seeded PRNG (the same
 * seed gives the same world on any Node version) are the simulator's (`card-world.ts`).
 */
import { CATEGORIES, CITIES, HOME_CITIES, prng } from '@tributary/ingest-api/dist/sources/simulators/card-world';

/** A labelled payment: the record as the processor sends it, and whether it is fraud. */
export interface LabelledPayment {
  record: Record<string, unknown>;
  fraud: boolean;
  /** The episode that produced it (`normal`, `velocity`, `card_testing`, ...), for the report. */
  pattern: string;
}

/** The cities cards travel to in fraud and in real trips (CITIES' far side). */
const FAR_CITIES = ['New York', 'Chicago', 'Singapore', 'Sydney', 'Tokyo'].map((name) => CITIES.findIndex(([n]) => n === name));
const HOUR = 3_600_000;
const MINUTE = 60_000;

/** Options of a world. */
export interface WorldOptions {
  seed: number;
  cards: number;
  days: number;
  /** Episodes of fraud per card per day (the share of fraud payments follows). */
  fraudRate: number;
  /** First day, UTC midnight. */
  start?: number;
}

/** Generates a world's payments, sorted by event time (ties by ID). */
export function generateWorld(opts: WorldOptions): LabelledPayment[] {
  const rnd = prng(opts.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const between = (a: number, b: number) => a + rnd() * (b - a);
  const start = opts.start ?? Date.UTC(2026, 10, 2);
  const out: LabelledPayment[] = [];
  let n = 0;
  const emit = (card: string, city: number, amount: number, at: number, channel: string, fraud: boolean, pattern: string) => {
    const [name, country, lat, lon, currency] = CITIES[city]!;
    n++;
    out.push({
      fraud,
      pattern,
      record: {
        tx_id: `W${opts.seed}-${n}`,
        card_id: card,
        merchant_id: `M${String(city * 8 + Math.floor(rnd() * 8) + 1).padStart(4, '0')}`,
        merchant_name: null,
        merchant_category: pick(CATEGORIES),
        city: name,
        country,
        lat,
        lon,
        amount: Math.max(0.5, Math.round(amount * 100) / 100),
        currency,
        channel,
        at: new Date(Math.round(at)).toISOString(),
      },
    });
  };
  /** A daytime moment (people pay between 7 and 23 h, most around noon and evening). */
  const dayTime = (day: number) => start + day * 24 * HOUR + (7 + (rnd() + rnd() + rnd()) * (16 / 3)) * HOUR;
  const nightTime = (day: number) => start + day * 24 * HOUR + between(0.5, 5.5) * HOUR;
  for (let c = 0; c < opts.cards; c++) {
    const card = `K${opts.seed}-${String(c + 1).padStart(6, '0')}`;
    const home = Math.floor(rnd() * HOME_CITIES);
    const usual = Math.exp(between(Math.log(8), Math.log(120)));
    const perDay = between(0.8, 4);
    const local = () => (rnd() < 0.9 ? home : Math.floor(rnd() * HOME_CITIES));
    const normal = () => usual * between(0.3, 1.8);
    const ch = () => pick(['chip', 'contactless', 'online']);
    for (let day = 0; day < opts.days; day++) {
      const count = Math.round(perDay + (rnd() - 0.5) * 2);
      for (let i = 0; i < count; i++) emit(card, local(), normal(), dayTime(day), ch(), false, 'normal');
      // Legitimate look-alikes.
      if (rnd() < 0.02) {
        const t = dayTime(day);
        for (let i = 0; i < 5 + Math.floor(rnd() * 3); i++)
          emit(card, home, usual * between(0.1, 0.4), t + i * between(0.5, 2) * MINUTE, 'contactless', false, 'market_day');
      }
      if (rnd() < 0.01) emit(card, home, usual * between(5, 9), dayTime(day), 'chip', false, 'big_purchase');
      if (rnd() < 0.01) {
        // A trip: a flight, then paying at the destination the next day.
        const far = pick(FAR_CITIES);
        emit(card, far, normal(), dayTime(day) + between(14, 30) * HOUR, ch(), false, 'trip');
      }
      if (rnd() >= opts.fraudRate) continue;
      // A fraud episode.
      const pattern = pick(['velocity', 'velocity_subtle', 'card_testing', 'amount', 'amount_night', 'travel', 'travel_hours'] as const);
      const t = pattern === 'amount_night' || pattern === 'card_testing' ? nightTime(day) : dayTime(day);
      if (pattern === 'velocity')
        for (let i = 0; i < 6; i++) emit(card, home, usual * between(0.5, 1.5), t + i * 8_000, ch(), true, pattern);
      else if (pattern === 'velocity_subtle') {
        for (let i = 0; i < 3 + Math.floor(rnd() * 2); i++)
          emit(card, local(), usual * between(1, 3), t + i * between(1, 3) * MINUTE, 'online', true, pattern);
      } else if (pattern === 'card_testing') {
        for (let i = 0; i < 3; i++) emit(card, home, between(0.5, 2), t + i * between(0.3, 1) * MINUTE, 'online', true, pattern);
        emit(card, home, usual * between(3, 8), t + between(4, 8) * MINUTE, 'online', true, pattern);
      } else if (pattern === 'amount') emit(card, local(), usual * between(10, 20), t, ch(), true, pattern);
      else if (pattern === 'amount_night') emit(card, local(), usual * between(3, 6), t, 'online', true, pattern);
      else if (pattern === 'travel') {
        emit(card, home, normal(), t, ch(), false, 'normal');
        emit(card, pick(FAR_CITIES), usual * between(0.8, 3), t + between(1, 20) * MINUTE, ch(), true, pattern);
      } else {
        emit(card, home, normal(), t, ch(), false, 'normal');
        emit(card, pick(FAR_CITIES), usual * between(1.5, 4), t + between(5, 9) * HOUR, 'chip', true, pattern);
      }
    }
  }
  out.sort(
    (a, b) =>
      (a.record.at as string).localeCompare(b.record.at as string) || (a.record.tx_id as string).localeCompare(b.record.tx_id as string),
  );
  return out;
}
