/**
 * The traffic simulator behind the `generator: traffic` source: vehicles passing toll gantries.
 * Deterministic for a seed, so tests and demos are reproducible.
 */
import { Faker, en } from '@faker-js/faker';

/** A simulated passage as a gantry controller would send it. */
export interface Passage {
  event_id: string;
  gantry_id: string;
  plate: string;
  speed_mph: number;
  lane: number;
  passengers: number;
  observed_at: string;
}

/** Produces passages; `invalidRatio` of them are deliberately broken to exercise the DLQ. */
export class TrafficSimulator {
  private readonly faker: Faker;
  private n = 0;

  constructor(private readonly opts: { seed?: number; invalidRatio?: number; gantries?: number; idPrefix: string }) {
    this.faker = new Faker({ locale: [en] });
    if (opts.seed !== undefined) this.faker.seed(opts.seed);
  }

  /** The next `count` records. */
  next(count: number, now = Date.now()): Record<string, unknown>[] {
    const f = this.faker;
    const out: Record<string, unknown>[] = [];
    for (let i = 0; i < count; i++) {
      this.n++;
      const gantry = f.number.int({ min: 1, max: this.opts.gantries ?? 20 });
      const rec: Record<string, unknown> = {
        event_id: `${this.opts.idPrefix}-${this.n}`,
        gantry_id: `G${String(gantry).padStart(3, '0')}`,
        plate: f.vehicle.vrm(),
        // Mostly traffic at 40-80 mph, some jams, and the odd stationary sensor reading.
        speed_mph: f.number.float({ min: 0, max: 1 }) < 0.01 ? 0 : Math.round(f.number.float({ min: 8, max: 85 }) * 10) / 10,
        lane: f.number.int({ min: 1, max: 4 }),
        passengers: f.number.int({ min: 1, max: 5 }),
        observed_at: new Date(now - f.number.int({ min: 0, max: 2000 })).toISOString(),
      } satisfies Passage as unknown as Record<string, unknown>;
      if (this.opts.invalidRatio && f.number.float({ min: 0, max: 1 }) < this.opts.invalidRatio) {
        delete rec.gantry_id; // missing a required field: rejected by the source schema
      }
      out.push(rec);
    }
    return out;
  }
}
