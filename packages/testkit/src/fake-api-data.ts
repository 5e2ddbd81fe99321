/**
 * Deterministic data for the fake third-party APIs, shaped like each API's documented responses:
 * Ticketmaster Discovery v2 events, OpenWeatherMap current weather (2.5), 5 day / 3 hour forecast
 * (2.5) and One Call 3.0 `timemachine`, and Tomorrow.io v4 weather forecast timelines. Only the
 * fields the example pipelines use and their neighbours are filled in.
 */

/** A small seeded PRNG (mulberry32): the same seed gives the same data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Venues of the fake events (real places, so forecasts make sense). */
export const FAKE_VENUES = [
  { id: 'KovZpZAEdFtJ', name: 'Wells Fargo Arena', city: 'Des Moines', state: 'IA', lat: 41.5911, lon: -93.6219, tz: 'America/Chicago' },
  { id: 'KovZpa2Gne', name: 'TD Garden', city: 'Boston', state: 'MA', lat: 42.3662, lon: -71.0621, tz: 'America/New_York' },
  { id: 'KovZpZA7AAEA', name: 'Madison Square Garden', city: 'New York', state: 'NY', lat: 40.7505, lon: -73.9934, tz: 'America/New_York' },
  { id: 'KovZpZAFFE1A', name: 'Red Rocks Amphitheatre', city: 'Morrison', state: 'CO', lat: 39.6654, lon: -105.2057, tz: 'America/Denver' },
  { id: 'KovZpZAJ6nlA', name: 'Hollywood Bowl', city: 'Los Angeles', state: 'CA', lat: 34.1122, lon: -118.3391, tz: 'America/Los_Angeles' },
  { id: 'KovZpZAE6eeA', name: 'United Center', city: 'Chicago', state: 'IL', lat: 41.8807, lon: -87.6742, tz: 'America/Chicago' },
] as const;

const GENRES = ['Rock', 'Pop', 'Hip-Hop/Rap', 'Country', 'Basketball', 'Hockey', 'Theatre'];
const CONDITIONS = [
  { id: 800, main: 'Clear', description: 'clear sky', icon: '01d' },
  { id: 802, main: 'Clouds', description: 'scattered clouds', icon: '03d' },
  { id: 500, main: 'Rain', description: 'light rain', icon: '10d' },
  { id: 600, main: 'Snow', description: 'light snow', icon: '13d' },
];

/** A Ticketmaster Discovery v2 event (the subset of fields used, in their documented shape). */
export function ticketmasterEvent(i: number, startMs: number, rnd: () => number): Record<string, unknown> {
  const v = FAKE_VENUES[i % FAKE_VENUES.length]!;
  const iso = new Date(startMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const genre = GENRES[Math.floor(rnd() * GENRES.length)]!;
  return {
    name: `${genre} night ${i + 1}`,
    type: 'event',
    id: `vvG1${String(i).padStart(6, '0')}`,
    test: false,
    url: `https://www.ticketmaster.com/event/${i + 1}`,
    locale: 'en-us',
    dates: {
      start: { localDate: iso.slice(0, 10), localTime: iso.slice(11, 19), dateTime: iso, dateTBD: false, timeTBA: false },
      timezone: v.tz,
      status: { code: 'onsale' },
    },
    classifications: [{ primary: true, segment: { id: 'KZFzniwnSyZfZ7v7nJ', name: 'Music' }, genre: { id: 'KnvZfZ7vAeA', name: genre } }],
    priceRanges: [{ type: 'standard', currency: 'USD', min: 25 + Math.round(rnd() * 50), max: 100 + Math.round(rnd() * 200) }],
    _embedded: {
      venues: [
        {
          name: v.name,
          type: 'venue',
          id: v.id,
          locale: 'en-us',
          timezone: v.tz,
          city: { name: v.city },
          state: { name: v.state, stateCode: v.state },
          country: { name: 'United States Of America', countryCode: 'US' },
          // Ticketmaster sends coordinates as strings.
          location: { longitude: String(v.lon), latitude: String(v.lat) },
        },
      ],
    },
  };
}

function weatherValues(rnd: () => number, t: number, lat: number) {
  const base = 25 - Math.abs(lat - 30) * 0.5 + 6 * Math.sin((t / 86_400_000) * 2 * Math.PI);
  const temp = Math.round((base + rnd() * 4 - 2) * 100) / 100;
  return {
    temp,
    feels_like: temp - 1,
    humidity: 40 + Math.round(rnd() * 50),
    pressure: 1000 + Math.round(rnd() * 30),
    wind: Math.round(rnd() * 120) / 10,
  };
}

/** OpenWeatherMap current weather (`/data/2.5/weather`). */
export function owmCurrent(lat: number, lon: number, now: number, rnd: () => number): Record<string, unknown> {
  const w = weatherValues(rnd, now, lat);
  const dt = Math.floor(now / 1000);
  return {
    coord: { lon, lat },
    weather: [CONDITIONS[Math.floor(rnd() * CONDITIONS.length)]],
    base: 'stations',
    main: {
      temp: w.temp,
      feels_like: w.feels_like,
      temp_min: w.temp - 2,
      temp_max: w.temp + 2,
      pressure: w.pressure,
      humidity: w.humidity,
    },
    visibility: 10000,
    wind: { speed: w.wind, deg: Math.round(rnd() * 360) },
    clouds: { all: Math.round(rnd() * 100) },
    dt,
    sys: { country: 'US', sunrise: dt - 20_000, sunset: dt + 20_000 },
    timezone: -18000,
    id: Math.round(Math.abs(lat * lon * 100)),
    name: 'Fake City',
    cod: 200,
  };
}

/** OpenWeatherMap 5 day / 3 hour forecast (`/data/2.5/forecast`): 40 steps. */
export function owmForecast(lat: number, lon: number, now: number, rnd: () => number, cnt = 40): Record<string, unknown> {
  const start = Math.ceil(now / 10_800_000) * 10_800_000;
  const list = Array.from({ length: cnt }, (_, i) => {
    const t = start + i * 10_800_000;
    const w = weatherValues(rnd, t, lat);
    return {
      dt: Math.floor(t / 1000),
      main: {
        temp: w.temp,
        feels_like: w.feels_like,
        temp_min: w.temp - 1,
        temp_max: w.temp + 1,
        pressure: w.pressure,
        humidity: w.humidity,
      },
      weather: [CONDITIONS[Math.floor(rnd() * CONDITIONS.length)]],
      clouds: { all: Math.round(rnd() * 100) },
      wind: { speed: w.wind, deg: Math.round(rnd() * 360), gust: w.wind + 1 },
      visibility: 10000,
      pop: Math.round(rnd() * 100) / 100,
      sys: { pod: 'd' },
      dt_txt: new Date(t).toISOString().replace('T', ' ').slice(0, 19),
    };
  });
  return { cod: '200', message: 0, cnt, list, city: { id: 1, name: 'Fake City', coord: { lat, lon }, country: 'US', timezone: -18000 } };
}

/** OpenWeatherMap One Call 3.0 historical weather at a time (`/data/3.0/onecall/timemachine`). */
export function owmTimemachine(lat: number, lon: number, dt: number, rnd: () => number): Record<string, unknown> {
  const w = weatherValues(rnd, dt * 1000, lat);
  return {
    lat,
    lon,
    timezone: 'America/Chicago',
    timezone_offset: -18000,
    data: [
      {
        dt,
        sunrise: dt - 20_000,
        sunset: dt + 20_000,
        temp: w.temp,
        feels_like: w.feels_like,
        pressure: w.pressure,
        humidity: w.humidity,
        dew_point: w.temp - 5,
        clouds: Math.round(rnd() * 100),
        visibility: 10000,
        wind_speed: w.wind,
        wind_deg: Math.round(rnd() * 360),
        weather: [CONDITIONS[Math.floor(rnd() * CONDITIONS.length)]],
      },
    ],
  };
}

/** Tomorrow.io v4 weather forecast (`/v4/weather/forecast`): 120 hourly and 6 daily steps. */
export function tomorrowForecast(lat: number, lon: number, now: number, rnd: () => number, timesteps: string[]): Record<string, unknown> {
  const hour = Math.ceil(now / 3_600_000) * 3_600_000;
  const day = Math.floor(now / 86_400_000) * 86_400_000;
  const timelines: Record<string, unknown> = {};
  if (timesteps.includes('1h')) {
    timelines.hourly = Array.from({ length: 120 }, (_, i) => {
      const t = hour + i * 3_600_000;
      const w = weatherValues(rnd, t, lat);
      return {
        time: new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        values: {
          temperature: w.temp,
          temperatureApparent: w.feels_like,
          humidity: w.humidity,
          precipitationProbability: Math.round(rnd() * 100),
          windSpeed: w.wind,
          weatherCode: 1000,
        },
      };
    });
  }
  if (timesteps.includes('1d')) {
    timelines.daily = Array.from({ length: 6 }, (_, i) => {
      const t = day + i * 86_400_000;
      const w = weatherValues(rnd, t, lat);
      return {
        time: new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        values: {
          temperatureMax: w.temp + 4,
          temperatureMin: w.temp - 4,
          humidityAvg: w.humidity,
          precipitationProbabilityMax: Math.round(rnd() * 100),
          sunriseTime: new Date(t + 11 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          sunsetTime: new Date(t + 24 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        },
      };
    });
  }
  return { timelines, location: { lat, lon } };
}
