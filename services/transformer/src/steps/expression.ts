/**
 * JSONata expressions, compiled once, with the functions Tributary registers (`$hmac`).
 */
import { createHmac } from 'node:crypto';
import { TributaryError } from '@tributary/core';
import jsonata from 'jsonata';

/** A compiled expression. */
export interface Expression {
  source: string;
  evaluate(input: unknown): Promise<unknown>;
}

/** Compiles `source`; a syntax error is TRIB_E_SPEC naming where in the spec it is. */
export function compileExpression(source: string, where: string, hmacKey: string): Expression {
  let expr: jsonata.Expression;
  try {
    expr = jsonata(source);
  } catch (err) {
    const e = err as { message: string; position?: number };
    throw new TributaryError(
      'TRIB_E_SPEC',
      `${where}: invalid expression "${source}"${e.position !== undefined ? ` at character ${e.position}` : ''}: ${e.message}`,
      {
        cause: err,
      },
    );
  }
  // $hmac(value): keyed pseudonym (HMAC-SHA256, 128 bits as hex) so joins still work on the value.
  expr.registerFunction(
    'hmac',
    (value: unknown) =>
      value === undefined || value === null ? value : createHmac('sha256', hmacKey).update(String(value)).digest('hex').slice(0, 32),
    '<j-:s>',
  );
  return {
    source,
    async evaluate(input: unknown) {
      try {
        return await expr.evaluate(input);
      } catch (err) {
        throw new TributaryError('TRIB_E_STEP', `${where}: expression "${source}" failed: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}
