/**
 * JSONata expressions of the rest source (record selector, pagination paths, stop conditions,
 * fan-out select/key/where), compiled once per spec.
 */
import jsonata from 'jsonata';
import { TributaryError } from '@tributary/contract/errors';

/** A compiled expression. */
export interface Expression {
  readonly text: string;
  evaluate(input: unknown, bindings?: Record<string, unknown>): Promise<unknown>;
}

/** Compiles `text`; a syntax error is TRIB_E_SPEC naming the field it came from. */
export function compileExpression(text: string, field: string): Expression {
  let expr: jsonata.Expression;
  try {
    expr = jsonata(text);
  } catch (err) {
    throw new TributaryError('TRIB_E_SPEC', `${field}: invalid JSONata "${text}": ${(err as Error).message}`, { cause: err });
  }
  return {
    text,
    evaluate: (input, bindings) => expr.evaluate(input, bindings) as Promise<unknown>,
  };
}

/**
 * A JSONata result as a list: JSONata unwraps a one-item sequence into the item, so an array of
 * one record comes back as the record; undefined (the path matched nothing) is an empty list.
 */
export function asList(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? [...value] : [value];
}
