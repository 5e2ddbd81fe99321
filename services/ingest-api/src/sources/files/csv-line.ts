/**
 * One line of a CSV file, for the fast path of readCsv (csv-reader.ts): its cells when they are
 * simple enough to split here, and whether rows may be written as JSON text directly.
 */

/** Characters JSON.stringify escapes in a string. */
// eslint-disable-next-line no-control-regex
export const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * The cells of a one-line row with `"`-quoted cells, or undefined unless each quoted cell is whole
 * and regular: it starts the cell, its quotes inside are doubled, and its closing quote ends the
 * cell (delimiter or end of line); no quote elsewhere. Anything else (a cell going on to the next
 * line, a stray quote) is left to csv-parse, whose errors it is.
 */
export function splitQuoted(line: string, delimiter: string): string[] | undefined {
  const cells: string[] = [];
  let pos = 0;
  for (;;) {
    if (line.charCodeAt(pos) === 34 /* " */) {
      let value = '';
      let from = pos + 1;
      for (;;) {
        const q = line.indexOf('"', from);
        if (q === -1) return undefined;
        value += line.slice(from, q);
        if (line.charCodeAt(q + 1) === 34) {
          value += '"';
          from = q + 2;
          continue;
        }
        pos = q + 1;
        break;
      }
      cells.push(value);
      if (pos === line.length) return cells;
      if (!line.startsWith(delimiter, pos)) return undefined;
      pos += delimiter.length;
    } else {
      const d = line.indexOf(delimiter, pos);
      const cell = line.slice(pos, d === -1 ? line.length : d);
      if (cell.indexOf('"') !== -1) return undefined;
      cells.push(cell);
      if (d === -1) return cells;
      pos = d + delimiter.length;
    }
  }
}

/**
 * Whether rows may be written as JSON text under these column names: an object csv-parse builds
 * would serialise to the same text (no repeated name, no `__proto__`, no array-index name, which
 * an object would move to the front).
 */
export function plainColumns(names: string[]): boolean {
  return new Set(names).size === names.length && names.every((n) => n !== '__proto__' && !/^(0|[1-9]\d*)$/.test(n));
}
