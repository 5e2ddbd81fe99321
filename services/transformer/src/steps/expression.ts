/**
 * JSONata expressions, compiled once, with the functions Tributary registers (`$hmac`). Simple
 * expressions also get a synchronous fast path (fast-expression.ts); JSONata evaluates the rest,
 * and any record the fast path gives up on.
 */
import { TributaryError } from '@tributary/core';
import jsonata from 'jsonata';
import { compileFast, FALLBACK } from './fast-expression';
import { hmacSha256Hex } from './keyed-hash';

/** A compiled expression. */
export interface Expression {
  source: string;
  /** The value; synchronous when the fast path handled the record. */
  evaluate(input: Record<string, unknown>): unknown;
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
  const digest = hmacSha256Hex(hmacKey);
  const hmac = (value: unknown): unknown => (value === undefined || value === null ? value : digest(String(value)).slice(0, 32));
  expr.registerFunction('hmac', hmac, '<j-:s>');
  const fast = compileFast(expr.ast(), { hmac });
  const slow = async (input: unknown): Promise<unknown> => {
    try {
      return await expr.evaluate(input);
    } catch (err) {
      throw new TributaryError('TRIB_E_STEP', `${where}: expression "${source}" failed: ${(err as Error).message}`, { cause: err });
    }
  };
  return {
    source,
    evaluate(input) {
      if (!fast) return slow(input);
      try {
        return fast(input);
      } catch (err) {
        if (err === FALLBACK) return slow(input);
        throw new TributaryError('TRIB_E_STEP', `${where}: expression "${source}" failed: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}
