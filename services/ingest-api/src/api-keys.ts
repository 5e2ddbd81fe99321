/**
 * API keys: stored as SHA-256 hashes (never in clear), each scoped to pipelines. Keys come from
 * `TRIBUTARY_API_KEYS` and/or a file re-read when it changes, so a key is revoked without restart.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { TributaryError } from '@tributary/contract/errors';

/** One key entry. */
export interface ApiKey {
  name: string;
  sha256: string;
  /** Pipelines the key may write to; `*` for all. */
  pipelines: string[];
}

function parseInline(text: string): ApiKey[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const [name, sha256, scope] = entry.split(':');
      if (!name || !sha256 || !/^[0-9a-f]{64}$/i.test(sha256)) {
        throw new TributaryError('TRIB_E_CONFIG', `TRIBUTARY_API_KEYS: entry "${name ?? entry}" must be name:sha256hex:pipeline|pipeline`);
      }
      return { name, sha256: sha256.toLowerCase(), pipelines: (scope ?? '*').split('|') };
    });
}

function parseFile(file: string): ApiKey[] {
  let list: unknown;
  try {
    list = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new TributaryError('TRIB_E_CONFIG', `TRIBUTARY_API_KEYS_FILE ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (!Array.isArray(list)) throw new TributaryError('TRIB_E_CONFIG', `${file}: expected a JSON array of {name, sha256, pipelines}`);
  return list.map((k: Partial<ApiKey>, i) => {
    if (typeof k.name !== 'string' || typeof k.sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(k.sha256) || !Array.isArray(k.pipelines)) {
      throw new TributaryError('TRIB_E_CONFIG', `${file}: entry ${i} must have name, sha256 (64 hex) and pipelines`);
    }
    return { name: k.name, sha256: k.sha256.toLowerCase(), pipelines: k.pipelines };
  });
}

/** Hashes a key as stored. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Checks presented keys against the configured hashes. */
export class ApiKeys {
  private fileKeys: ApiKey[] = [];
  private fileMtime = 0;
  private checkedAt = 0;
  private readonly inline: ApiKey[];

  constructor(private readonly opts: { inline?: string; file?: string }) {
    this.inline = opts.inline ? parseInline(opts.inline) : [];
    if (opts.file) this.reload(true);
  }

  private reload(force = false): void {
    if (!this.opts.file) return;
    const now = Date.now();
    if (!force && now - this.checkedAt < 1000) return;
    this.checkedAt = now;
    const mtime = statSync(this.opts.file).mtimeMs;
    if (force || mtime !== this.fileMtime) {
      this.fileKeys = parseFile(this.opts.file);
      this.fileMtime = mtime;
    }
  }

  /** Whether any keys are configured (if not, the API is open). */
  get enabled(): boolean {
    return this.inline.length > 0 || Boolean(this.opts.file);
  }

  /** Returns the key's name when `presented` may write to `pipeline`; throws TRIB_E_UNAUTHORIZED otherwise. */
  authorize(presented: string | undefined, pipeline: string): string | undefined {
    if (!this.enabled) return undefined;
    try {
      this.reload();
    } catch {
      // Keep the last good key set when the file is mid-write or briefly invalid.
    }
    if (!presented)
      throw new TributaryError('TRIB_E_UNAUTHORIZED', 'an API key is required: send it as "Authorization: Bearer <key>" or "X-API-Key"');
    const digest = Buffer.from(hashKey(presented), 'hex');
    for (const k of [...this.inline, ...this.fileKeys]) {
      if (timingSafeEqual(digest, Buffer.from(k.sha256, 'hex'))) {
        if (k.pipelines.includes('*') || k.pipelines.includes(pipeline)) return k.name;
        throw new TributaryError('TRIB_E_UNAUTHORIZED', `API key "${k.name}" is not allowed to write to pipeline "${pipeline}"`);
      }
    }
    throw new TributaryError('TRIB_E_UNAUTHORIZED', 'invalid API key');
  }
}
