import { toWarehouseError } from './warehouse-error';

/** An error shaped as pg raises it: message plus SQLSTATE (or a socket error code). */
const pgError = (code: string, message = 'boom'): Error => Object.assign(new Error(message), { code });

describe('toWarehouseError', () => {
  it('retries a login pg_hba.conf rejects (28000), as any unreachable server (found by the chaos suite)', () => {
    // Classed as the data's fault before, it sent healthy fold batches down the poison path,
    // where dead letters were stored without their body.
    const e = toWarehouseError(pgError('28000', 'pg_hba.conf rejects connection for host "127.0.0.1"'), 'fold');
    expect(e.code).toBe('TRIB_E_WAREHOUSE_UNAVAILABLE');
    expect(e.retryable).toBe(true);
  });

  it.each([
    ['ECONNREFUSED', 'socket refused'],
    ['57P01', 'terminated by administrator'],
    ['57P03', 'server starting up'],
    ['53300', 'too many connections'],
    ['28P01', 'password rejected'],
    ['40P01', 'deadlock'],
  ])('retries %s (%s)', (code) => {
    expect(toWarehouseError(pgError(code), 'x').retryable).toBe(true);
  });

  it.each([
    ['22P05', 'untranslatable character'],
    ['22003', 'numeric out of range'],
    ['23505', 'unique violation'],
  ])('isolates %s (%s): the data is refused, retrying cannot help', (code) => {
    const e = toWarehouseError(pgError(code), 'x');
    expect(e.code).toBe('TRIB_E_INTERNAL');
    expect(e.details).toEqual({ sqlstate: code });
  });
});
