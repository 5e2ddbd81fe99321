/**
 * @tributary/contract/expressions: the JSONata expression language, its fast path and `$hmac`.
 */
export { compileExpression, distanceKm, LIMITS as EXPRESSION_LIMITS, type Expression } from './expression';
export { hmacSha256Hex } from './keyed-hash';
