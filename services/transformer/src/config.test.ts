import { loadConfig } from './config';

describe('transformer configuration', () => {
  it('takes 2 MiB of raw messages per batch by default (the push peaked about 25 MiB lower than with 4)', () => {
    expect(loadConfig({}).TRANSFORMER_FETCH_BYTES).toBe(2 * 1024 * 1024);
  });

  it('takes another budget from TRANSFORMER_FETCH_BYTES', () => {
    expect(loadConfig({ TRANSFORMER_FETCH_BYTES: String(4 * 1024 * 1024) }).TRANSFORMER_FETCH_BYTES).toBe(4 * 1024 * 1024);
  });
});
