/**
 * Calls to the monitor's JSON API. Write actions carry the admin token and the actor's name,
 * both kept in sessionStorage (gone when the tab closes) and never in the URL.
 */

/** An API error with the server's code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

async function parse<T>(r: Response): Promise<T> {
  const body = (await r.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
  if (!r.ok) throw new ApiError(r.status, body?.error?.code, body?.error?.message ?? `HTTP ${r.status}`);
  return body as T;
}

/**
 * GETs JSON, with the admin token when this tab has one: dead letters then show personal fields
 * in clear (without it the monitor masks them).
 */
export async function get<T>(path: string): Promise<T> {
  const token = credentials.token;
  return parse<T>(await fetch(path, { headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } }));
}

const TOKEN = 'tributary.adminToken';
const ACTOR = 'tributary.actor';

/** The admin credentials of this tab. */
export const credentials = {
  get token(): string {
    return sessionStorage.getItem(TOKEN) ?? '';
  },
  set token(v: string) {
    sessionStorage.setItem(TOKEN, v);
  },
  get actor(): string {
    return sessionStorage.getItem(ACTOR) ?? '';
  },
  set actor(v: string) {
    sessionStorage.setItem(ACTOR, v);
  },
};

/** POSTs JSON with the admin token. */
export async function post<T>(path: string, body: unknown): Promise<T> {
  const r = await fetch(path, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      authorization: `Bearer ${credentials.token}`,
      'x-tributary-actor': credentials.actor || 'admin',
    },
    body: JSON.stringify(body),
  });
  return parse<T>(r);
}
