/**
 * Inputs reach SQL only as bound parameters: `${name}` (dropdown, text) and `${name.from}` /
 * `${name.to}` (date range) become `$1::text`, `$2::date`, ... and their values travel
 * separately. A reference inside a string literal, quoted identifier or comment would be text,
 * not a parameter, so it is an error. The same scan lists the relations after FROM and JOIN:
 * which warehouse tables a query reads (for live refresh and the unknown-table check).
 */
import type { InputKind } from './report-spec';

/** One `${...}` reference in a query. */
export interface InputRef {
  input: string;
  /** `from` / `to` of a date range; undefined for the other kinds. */
  part?: string;
  /** Offset in the SQL as written. */
  offset: number;
}

/** What the scan of a query found. */
export interface SqlScan {
  refs: InputRef[];
  /** References inside literals, quoted identifiers or comments (offsets). */
  misplaced: InputRef[];
  /** Relation names after FROM / JOIN, lower-cased, schema dropped (`warehouse.x` -> `x`). */
  relations: { name: string; offset: number }[];
  /** Names of common table expressions (`WITH x AS`), which are not warehouse tables. */
  ctes: Set<string>;
}

const REF = /\$\{\s*([a-z_][a-z0-9_]*)(?:\.([a-z_]+))?\s*\}/y;
const WORD = /[A-Za-z_][A-Za-z0-9_$]*/y;
/** Words after which `(` opens a subquery or a list, not a function's arguments. */
const GROUPING = new Set([
  'from',
  'join',
  'in',
  'exists',
  'as',
  'any',
  'all',
  'some',
  'lateral',
  'on',
  'and',
  'or',
  'not',
  'where',
  'union',
  'select',
  'using',
  'having',
  'when',
  'then',
  'else',
  'values',
  'over',
  'filter',
]);

/** Scans SQL once, skipping literals, quoted identifiers, dollar quotes and comments. */
export function scanSql(sql: string): SqlScan {
  const out: SqlScan = { refs: [], misplaced: [], relations: [], ctes: new Set() };
  const words: { w: string; offset: number }[] = [];
  const quotedRefs = (from: number, to: number): void => {
    const re = /\$\{\s*([a-z_][a-z0-9_]*)(?:\.([a-z_]+))?\s*\}/g;
    re.lastIndex = from;
    for (let m = re.exec(sql); m && m.index < to; m = re.exec(sql)) out.misplaced.push({ input: m[1]!, part: m[2], offset: m.index });
  };
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const end = (close: string, from: number): number => {
      const j = sql.indexOf(close, from);
      return j < 0 ? sql.length : j + close.length;
    };
    let skipTo = -1;
    if (c === "'") skipTo = literalEnd(sql, i, "'");
    else if (c === '"') skipTo = literalEnd(sql, i, '"');
    else if (c === '-' && sql[i + 1] === '-') skipTo = end('\n', i);
    else if (c === '/' && sql[i + 1] === '*') skipTo = end('*/', i + 2);
    else if (c === '$' && sql[i + 1] !== '{') {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i));
      if (tag) skipTo = end(tag[0], i + tag[0].length);
    }
    if (skipTo >= 0) {
      quotedRefs(i, skipTo);
      i = skipTo;
      continue;
    }
    if (c === '$') {
      REF.lastIndex = i;
      const m = REF.exec(sql);
      if (m) {
        out.refs.push({ input: m[1]!, part: m[2], offset: i });
        i = REF.lastIndex;
        continue;
      }
    }
    WORD.lastIndex = i;
    const w = /[A-Za-z_]/.test(c) ? WORD.exec(sql) : null;
    if (w) {
      words.push({ w: w[0].toLowerCase(), offset: i });
      i = WORD.lastIndex;
      continue;
    }
    if (c === '.' || c === '(' || c === ')' || c === ',') words.push({ w: c, offset: i });
    i++;
  }
  // A FROM inside a function's parentheses (`extract(epoch FROM t)`, `substring(s FROM 2)`) is
  // not a relation; one inside a subquery's parentheses is.
  const parens: boolean[] = [];
  for (let k = 0; k < words.length; k++) {
    const w = words[k]!.w;
    if (w === '(') {
      const prev = words[k - 1]?.w;
      parens.push(prev !== undefined && /^[a-z_]/.test(prev) && !GROUPING.has(prev));
      continue;
    }
    if (w === ')') parens.pop();
    if ((w !== 'from' && w !== 'join') || parens[parens.length - 1] === true || words[k - 1]?.w === 'distinct') continue;
    const next = words[k + 1];
    if (!next || !/^[a-z_]/.test(next.w) || next.w === 'lateral') continue;
    const qualified = words[k + 2]?.w === '.' && words[k + 3];
    if (qualified && next.w !== 'warehouse') continue; // another schema: not ours to check
    const rel = qualified ? words[k + 3]! : next;
    if (words[qualified ? k + 4 : k + 2]?.w === '(') continue; // a set-returning function
    out.relations.push({ name: rel.w, offset: rel.offset });
  }
  // `WITH a AS (...), b AS (...)`: a name followed by AS ( after a comma at the top level.
  for (const m of sql.matchAll(/(?:with|,)\s*([a-z_][a-z0-9_]*)\s+as\s*\(/gi)) out.ctes.add(m[1]!.toLowerCase());
  return out;
}

function literalEnd(sql: string, start: number, q: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === q) {
      if (sql[i + 1] === q) i += 2;
      else return i + 1;
    } else i++;
  }
  return sql.length;
}

/** SQL ready to run: `$n` placeholders and the input each stands for. */
export interface BoundSql {
  text: string;
  params: { input: string; part?: string }[];
}

const CAST: Record<InputKind, string> = { date_range: 'date', dropdown: 'text', text: 'text' };

/** Replaces input references with typed placeholders (run `scanSql` checks first). */
export function bindSql(sql: string, kinds: Record<string, InputKind>): BoundSql {
  const refs = scanSql(sql).refs;
  const params: BoundSql['params'] = [];
  let text = '';
  let last = 0;
  for (const r of refs) {
    REF.lastIndex = r.offset;
    REF.exec(sql);
    params.push({ input: r.input, part: r.part });
    text += `${sql.slice(last, r.offset)}$${params.length}::${CAST[kinds[r.input] ?? 'text']}`;
    last = REF.lastIndex;
  }
  // A trailing semicolon ends the statement the runner wraps (cursor, LIMIT 0): drop it.
  return { text: (text + sql.slice(last)).replace(/[\s;]+$/, ''), params };
}
