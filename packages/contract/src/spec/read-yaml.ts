/**
 * Reading a YAML file the way every Tributary file is read (pipeline specs, pipeline tests, shared
 * connections): merge keys on, duplicate keys refused, aliases bounded (an alias bomb is refused),
 * each problem naming the file, line and column.
 */
import { LineCounter, parseDocument, visit, type Document } from 'yaml';

/** A problem in a file: where, which field (dotted path, empty for the file itself), what. */
export interface SpecProblem {
  file: string;
  line?: number;
  column?: number;
  /** Dotted path of the field, e.g. `datasets.passages.steps[0].filter`. */
  field: string;
  message: string;
}

/** Where the first alias without an anchor before it is, so the error names its line. */
function unresolvedAlias(doc: Document, lc: LineCounter): { line: number; column: number } | Record<string, never> {
  let at: number | undefined;
  visit(doc, {
    Alias(_, node) {
      if (node.resolve(doc) !== undefined || !node.range) return undefined;
      at = node.range[0];
      return visit.BREAK;
    },
  });
  if (at === undefined) return {};
  const pos = lc.linePos(at);
  return { line: pos.line, column: pos.col };
}

/** Reads a YAML text; the document, its line counter and its value, or the problems. */
export function readYaml(
  text: string,
  file: string,
): { doc: Document; lc: LineCounter; root: unknown } | { problems: SpecProblem[]; doc?: Document; lc?: LineCounter } {
  const lc = new LineCounter();
  // `merge`: YAML merge keys (`<<: *defaults`) work, so one anchor can carry shared settings.
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false, merge: true });
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => ({
        file,
        line: lc.linePos(e.pos[0]).line,
        column: lc.linePos(e.pos[0]).col,
        field: '',
        message: `YAML: ${e.message.split('\n')[0]}`,
      })),
    };
  }
  try {
    return { doc, lc, root: doc.toJS({ maxAliasCount: 100 }) as unknown };
  } catch (err) {
    // Unresolved aliases, or an alias bomb (billion laughs) refused by the alias limit.
    return { problems: [{ file, ...unresolvedAlias(doc, lc), field: '', message: `YAML: ${(err as Error).message}` }], doc, lc };
  }
}
