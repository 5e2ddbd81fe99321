import { loadConfig } from './config';

describe('loader configuration', () => {
  it('loads 2 MiB of processed messages per transaction by default (the CDC snapshot peaked 9 MiB lower than with 4)', () => {
    expect(loadConfig({}).LOADER_FETCH_BYTES).toBe(2 * 1024 * 1024);
  });

  it('takes another budget from LOADER_FETCH_BYTES', () => {
    expect(loadConfig({ LOADER_FETCH_BYTES: String(4 * 1024 * 1024) }).LOADER_FETCH_BYTES).toBe(4 * 1024 * 1024);
  });
});
