import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TributaryError } from '@tributary/contract/errors';
import { ApiKeys, hashKey } from './api-keys';

const ALICE = 'alice-secret-key';
const BOB = 'bob-secret-key';

/** The TributaryError `fn` throws. */
function thrown(fn: () => unknown): TributaryError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TributaryError);
    return err as TributaryError;
  }
  throw new Error('expected an error, got none');
}

describe('hashKey', () => {
  it('is the SHA-256 of the key as lower-case hex', () => {
    expect(hashKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('ApiKeys with inline keys', () => {
  const keys = new ApiKeys({ inline: `alice:${hashKey(ALICE)}:traffic|shop, bob:${hashKey(BOB).toUpperCase()}` });

  it('returns the key name when the key may write to the pipeline', () => {
    expect(keys.enabled).toBe(true);
    expect(keys.authorize(ALICE, 'traffic')).toBe('alice');
    expect(keys.authorize(ALICE, 'shop')).toBe('alice');
  });

  it('refuses a valid key for a pipeline outside its scope', () => {
    const err = thrown(() => keys.authorize(ALICE, 'billing'));
    expect(err.code).toBe('TRIB_E_UNAUTHORIZED');
    expect(err.message).toContain('billing');
  });

  it('lets a key without a scope (upper-case hash accepted) write to every pipeline', () => {
    expect(keys.authorize(BOB, 'billing')).toBe('bob');
  });

  it.each([[undefined], ['']])('refuses a missing key (%p) with TRIB_E_UNAUTHORIZED', (presented) => {
    expect(thrown(() => keys.authorize(presented, 'traffic')).code).toBe('TRIB_E_UNAUTHORIZED');
  });

  it('refuses an unknown key, and the stored hash itself presented as a key', () => {
    expect(thrown(() => keys.authorize('nope', 'traffic')).code).toBe('TRIB_E_UNAUTHORIZED');
    expect(thrown(() => keys.authorize(hashKey(ALICE), 'traffic')).code).toBe('TRIB_E_UNAUTHORIZED');
  });

  it('grants every pipeline to an explicit * scope', () => {
    const star = new ApiKeys({ inline: `ops:${hashKey(ALICE)}:*` });
    expect(star.authorize(ALICE, 'anything')).toBe('ops');
  });

  it('is open (no key needed) when no keys are configured', () => {
    const open = new ApiKeys({});
    expect(open.enabled).toBe(false);
    expect(open.authorize(undefined, 'traffic')).toBeUndefined();
  });

  it.each([['alice'], [`alice:${ALICE}`], [`alice:${hashKey(ALICE).slice(1)}`], [`:${hashKey(ALICE)}`], [`a:${'g'.repeat(64)}`]])(
    'refuses the malformed entry %p with TRIB_E_CONFIG',
    (inline) => {
      expect(thrown(() => new ApiKeys({ inline })).code).toBe('TRIB_E_CONFIG');
    },
  );
});

describe('ApiKeys with a key file', () => {
  let dir: string;
  let file: string;
  let now: number;
  let mtime: number;

  const write = (content: unknown): void => {
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    mtime += 10; // seconds: a clear change whatever the file system's timestamp resolution
    utimesSync(file, mtime, mtime);
  };

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tributary-keys-'));
    file = path.join(dir, 'keys.json');
    now = 1_700_000_000_000;
    mtime = 1_700_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    write([{ name: 'alice', sha256: hashKey(ALICE), pipelines: ['traffic'] }]);
  });
  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it('authorizes the keys in the file, scoped to their pipelines', () => {
    const keys = new ApiKeys({ file });
    expect(keys.authorize(ALICE, 'traffic')).toBe('alice');
    expect(thrown(() => keys.authorize(ALICE, 'shop')).code).toBe('TRIB_E_UNAUTHORIZED');
  });

  it('revokes a key removed from the file and admits a key added to it, without a restart', () => {
    const keys = new ApiKeys({ file });
    expect(keys.authorize(ALICE, 'traffic')).toBe('alice');
    write([{ name: 'bob', sha256: hashKey(BOB), pipelines: ['*'] }]);
    now += 1001; // the file is re-checked at most once per second
    expect(thrown(() => keys.authorize(ALICE, 'traffic')).code).toBe('TRIB_E_UNAUTHORIZED');
    expect(keys.authorize(BOB, 'traffic')).toBe('bob');
  });

  it('keeps the last good keys while the file is briefly invalid, then takes the fixed file', () => {
    const keys = new ApiKeys({ file });
    write('[{"name": "bob", "sha');
    now += 1001;
    expect(keys.authorize(ALICE, 'traffic')).toBe('alice');
    write([{ name: 'bob', sha256: hashKey(BOB), pipelines: ['traffic'] }]);
    now += 1001;
    expect(keys.authorize(BOB, 'traffic')).toBe('bob');
    expect(thrown(() => keys.authorize(ALICE, 'traffic')).code).toBe('TRIB_E_UNAUTHORIZED');
  });

  it.each([[{ name: 'alice' }], [[{ name: 'alice', sha256: 'abc', pipelines: ['*'] }]], [[{ name: 'alice', sha256: hashKey(ALICE) }]]])(
    'refuses the malformed file content %p at startup with TRIB_E_CONFIG',
    (content) => {
      write(content);
      expect(thrown(() => new ApiKeys({ file })).code).toBe('TRIB_E_CONFIG');
    },
  );

  it('refuses a key file that is not JSON at startup with TRIB_E_CONFIG', () => {
    write('not json');
    expect(thrown(() => new ApiKeys({ file })).code).toBe('TRIB_E_CONFIG');
  });
});
