/**
 * Compiles the common, simple subset of JSONata (field paths, literals, arithmetic, comparisons,
 * and/or, `&`, `? :`, and a few functions) into plain synchronous JavaScript closures.
 *
 * Why by hand: JSONata's evaluator is asynchronous and walks the AST for every record, which made
 * it the largest cost of the transformer (profiled in docs/PERFORMANCE.md). No library compiles
 * JSONata to JavaScript. The closures mirror JSONata's semantics for the values they accept
 * (undefined propagation, banker's rounding in `$round`, effective boolean values); for anything
 * else (arrays, objects, type errors, unsupported syntax) they give up on that record by throwing
 * `FALLBACK`, and the caller evaluates the record with JSONata itself. A differential property
 * test checks the two agree.
 */

/** Thrown by a compiled expression when JSONata itself must evaluate this record. */
export const FALLBACK: unique symbol = Symbol('jsonata-fallback');

/** A compiled expression over one record. */
export type Compiled = (record: Record<string, unknown>) => unknown;

type Node = {
  type: string;
  value?: unknown;
  steps?: Node[];
  lhs?: Node;
  rhs?: Node;
  expression?: Node;
  expressions?: Node[];
  arguments?: Node[];
  procedure?: Node;
  condition?: Node;
  then?: Node;
  else?: Node;
  stages?: unknown;
  predicate?: unknown;
  group?: unknown;
  focus?: unknown;
  index?: unknown;
  tuple?: unknown;
  keepArray?: unknown;
  keepSingletonArray?: unknown;
};

const giveUp = (): never => {
  throw FALLBACK;
};

/** A primitive JSONata treats as a single value (arrays and objects go to JSONata). */
function primitive(v: unknown): unknown {
  if (v !== null && typeof v === 'object') giveUp();
  if (typeof v === 'function') giveUp();
  return v;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** JSONata's effective boolean value, for primitives. */
function bool(v: unknown): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') return v.length > 0;
  if (isNum(v)) return v !== 0;
  if (v === null) return false;
  return giveUp();
}

/** 10^0 .. 10^15, each exact as a double. */
const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);

/**
 * JSONata's `$round`: round half to even, decimal shift done in strings as JSONata does.
 *
 * With 1-15 decimals, a product `arg * 10^p` below 2^24 that is more than 1e-6 away from a tie
 * rounds to the same integer as the shifted text: the two differ by at most about three units in
 * the last place (the text is within half a unit of `arg`, the product and the parse round once
 * each), 2e-8 at that size. The shift back is a division: an integer over an exact power of ten
 * rounds once, to the double nearest the quotient, which is what parsing `<integer>e-<p>` gives.
 * Two number-to-text conversions and two parses per value were 5% of the transformer's push
 * (docs/PERFORMANCE.md, seventh round); a property test checks both paths agree.
 */
export function jsonataRound(arg: number, precision?: number): number {
  if (precision !== undefined && precision >= 1 && precision <= 15) {
    const scale = POW10[precision]!;
    const y = arg * scale;
    if (Math.abs(y) < 16_777_216 && Math.abs(y - Math.floor(y) - 0.5) > 1e-6) {
      const r = Math.round(y) / scale;
      return Object.is(r, -0) ? 0 : r;
    }
  }
  return shiftedRound(arg, precision);
}

/** `$round` as JSONata computes it, through the number's text. */
export function shiftedRound(arg: number, precision?: number): number {
  let x = arg;
  if (precision) x = shift(x, precision);
  let result = Math.round(x);
  if (Math.abs(result - x) === 0.5 && Math.abs(result % 2) === 1) result -= 1;
  if (precision) result = shift(result, -precision);
  return Object.is(result, -0) ? 0 : result;
}

/** `x` times 10^`by`, shifting the decimal exponent in the number's text (no binary rounding). */
function shift(x: number, by: number): number {
  const text = String(x);
  const e = text.indexOf('e');
  // Most numbers print without an exponent: one concatenation, no split.
  return e < 0 ? +`${text}e${by}` : +`${text.slice(0, e)}e${+text.slice(e + 1) + by}`;
}

/** Functions the compiler knows; every one returns undefined for an undefined argument. */
function fn(name: string, args: Compiled[], custom: Record<string, (v: unknown) => unknown>): Compiled | undefined {
  const [a, b] = args;
  const num = (f: (x: number) => number): Compiled | undefined =>
    args.length === 1
      ? (r) => {
          const x = a!(r);
          if (x === undefined) return undefined;
          return isNum(x) ? f(x) : giveUp();
        }
      : undefined;
  const str = (f: (s: string) => unknown): Compiled | undefined =>
    args.length === 1
      ? (r) => {
          const x = a!(r);
          if (x === undefined) return undefined;
          return typeof x === 'string' ? f(x) : giveUp();
        }
      : undefined;
  switch (name) {
    case 'round':
      if (args.length === 1 || args.length === 2) {
        return (r) => {
          const x = a!(r);
          if (x === undefined) return undefined;
          const p = b ? b(r) : undefined;
          if (!isNum(x) || (p !== undefined && !(isNum(p) && Number.isInteger(p)))) return giveUp();
          return jsonataRound(x, p as number | undefined);
        };
      }
      return undefined;
    case 'floor':
      return num(Math.floor);
    case 'ceil':
      return num(Math.ceil);
    case 'abs':
      return num(Math.abs);
    case 'lowercase':
      return str((s) => s.toLowerCase());
    case 'uppercase':
      return str((s) => s.toUpperCase());
    case 'length':
      return str((s) => Array.from(s).length);
    case 'exists':
      return args.length === 1 ? (r) => a!(r) !== undefined : undefined;
    default: {
      const f = custom[name];
      if (f && args.length === 1) {
        return (r) => {
          const x = a!(r);
          if (x !== undefined && x !== null && typeof x === 'object') giveUp();
          return f(x);
        };
      }
      return undefined;
    }
  }
}

/** Compiles an AST node, or returns undefined when the subset does not cover it. */
function compileNode(n: Node, custom: Record<string, (v: unknown) => unknown>): Compiled | undefined {
  // Predicates, grouping, focus/index binding and array constructors change sequence semantics.
  if (n.stages || n.predicate || n.group || n.focus || n.index || n.tuple || n.keepArray || n.keepSingletonArray) return undefined;
  switch (n.type) {
    case 'number':
    case 'string':
      return () => n.value;
    case 'value':
      return () => n.value;
    case 'path': {
      const steps = n.steps ?? [];
      if (
        steps.length === 0 ||
        steps.some((s) => s.type !== 'name' || s.stages || s.predicate || s.group || s.focus || s.index || s.tuple || s.keepArray)
      ) {
        return undefined;
      }
      const names = steps.map((s) => String(s.value));
      if (names.length === 1) {
        const k = names[0]!;
        return (r) => primitive(Object.prototype.hasOwnProperty.call(r, k) ? r[k] : undefined);
      }
      return (r) => {
        let v: unknown = r;
        for (const k of names) {
          if (v === undefined) return undefined;
          if (v === null || typeof v !== 'object' || Array.isArray(v)) return Array.isArray(v) ? giveUp() : undefined;
          v = Object.prototype.hasOwnProperty.call(v, k) ? (v as Record<string, unknown>)[k] : undefined;
        }
        return primitive(v);
      };
    }
    case 'unary': {
      if (n.value !== '-' || !n.expression) return undefined;
      const e = compileNode(n.expression, custom);
      if (!e) return undefined;
      return (r) => {
        const x = e(r);
        if (x === undefined) return undefined;
        return isNum(x) ? -x : giveUp();
      };
    }
    case 'condition': {
      const c = n.condition && compileNode(n.condition, custom);
      const t = n.then && compileNode(n.then, custom);
      const e = n.else ? compileNode(n.else, custom) : () => undefined;
      if (!c || !t || !e) return undefined;
      return (r) => (bool(c(r)) ? t(r) : e(r));
    }
    case 'function': {
      if (n.procedure?.type !== 'variable') return undefined;
      const args = (n.arguments ?? []).map((a) => compileNode(a, custom));
      if (args.some((a) => !a)) return undefined;
      return fn(String(n.procedure.value), args as Compiled[], custom);
    }
    case 'binary': {
      const l = n.lhs && compileNode(n.lhs, custom);
      const rr = n.rhs && compileNode(n.rhs, custom);
      if (!l || !rr) return undefined;
      const op = String(n.value);
      switch (op) {
        case '+':
        case '-':
        case '*':
        case '/':
        case '%':
          return (r) => {
            const x = l(r);
            const y = rr(r);
            if (x === undefined || y === undefined) {
              // JSONata still type-checks the defined side.
              if ((x !== undefined && !isNum(x)) || (y !== undefined && !isNum(y))) giveUp();
              return undefined;
            }
            if (!isNum(x) || !isNum(y)) return giveUp();
            const v = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : op === '/' ? x / y : x % y;
            return Number.isFinite(v) ? v : giveUp();
          };
        case '<':
        case '<=':
        case '>':
        case '>=':
          return (r) => {
            const x = l(r);
            const y = rr(r);
            const okX = x === undefined || typeof x === 'string' || isNum(x);
            const okY = y === undefined || typeof y === 'string' || isNum(y);
            if (!okX || !okY) return giveUp();
            if (x === undefined || y === undefined) return undefined;
            if (typeof x !== typeof y) return giveUp();
            const a = x as number | string;
            const b = y as number | string;
            return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
          };
        case '=':
        case '!=':
          return (r) => {
            const x = l(r);
            const y = rr(r);
            if (x === undefined || y === undefined) return false;
            return op === '=' ? x === y : x !== y;
          };
        case 'and':
          return (r) => Boolean(bool(l(r))) && Boolean(bool(rr(r)));
        case 'or':
          return (r) => Boolean(bool(l(r))) || Boolean(bool(rr(r)));
        case '&':
          return (r) => {
            const x = l(r);
            const y = rr(r);
            if ((x !== undefined && typeof x !== 'string') || (y !== undefined && typeof y !== 'string')) return giveUp();
            return (x ?? '') + (y ?? '');
          };
        default:
          return undefined;
      }
    }
    default:
      return undefined;
  }
}

/**
 * Compiles a JSONata AST (from `jsonata(src).ast()`); returns undefined when the expression is
 * outside the subset, in which case callers always use JSONata.
 */
export function compileFast(ast: unknown, custom: Record<string, (v: unknown) => unknown> = {}): Compiled | undefined {
  return compileNode(ast as Node, custom);
}
