/**
 * Splits a streamed JSON document into its top-level array elements (or its one top-level
 * object), each with the line it starts on, without holding the document in memory.
 *
 * Hand-written because the streaming JSON parsers (stream-json and the like) report no positions,
 * and a broken row must be dead-lettered with its line while the rows after it go on. The scan
 * tracks only strings and bracket depth; each element is then parsed with JSON.parse, so an
 * element with a syntax error is one bad row, not a broken file.
 */

/** One top-level element: its text, or why the file ended inside it. */
export type JsonElement = { line: number; text: string } | { line: number; error: string };

/** The document is not a JSON array or object at all, or has content after its end. */
export class JsonDocumentError extends Error {
  override readonly name = 'JsonDocumentError';
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d, 0xfeff]);

/** Yields the elements of a JSON array (or the single object) read from `chunks`. */
export async function* jsonElements(chunks: AsyncIterable<string>): AsyncGenerator<JsonElement> {
  let mode = 'start' as 'start' | 'between' | 'element' | 'single' | 'end';
  let line = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let startLine = 0;
  let parts: string[] = [];
  let scalar = false;

  for await (const chunk of chunks) {
    let from = -1; // where the current element's text starts in this chunk
    if (mode === 'element' || mode === 'single') from = 0;
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk.charCodeAt(i);
      if (ch === 0x0a) line++;
      if (mode === 'element' || mode === 'single') {
        if (inString) {
          if (escaped) escaped = false;
          else if (ch === 0x5c) escaped = true;
          else if (ch === 0x22) inString = false;
          continue;
        }
        if (ch === 0x22) inString = true;
        else if (ch === 0x7b || ch === 0x5b) depth++;
        else if (ch === 0x7d || ch === 0x5d) {
          if (depth === 0 && scalar && ch === 0x5d) {
            // `]` ends the array right after a scalar element.
            parts.push(chunk.slice(from, i));
            yield { line: startLine, text: parts.join('') };
            mode = 'end';
            continue;
          }
          depth--;
        } else if (ch === 0x2c && depth === 0 && scalar) {
          parts.push(chunk.slice(from, i));
          yield { line: startLine, text: parts.join('') };
          mode = 'between';
          continue;
        }
        if (depth === 0 && !scalar) {
          parts.push(chunk.slice(from, i + 1));
          yield { line: startLine, text: parts.join('') };
          mode = mode === 'single' ? 'end' : 'between';
        }
        continue;
      }
      if (WS.has(ch)) continue;
      if (mode === 'start') {
        if (ch === 0x5b) mode = 'between';
        else if (ch === 0x7b) {
          mode = 'single';
          startLine = line;
          depth = 1;
          scalar = false;
          parts = [];
          from = i;
        } else throw new JsonDocumentError('not a JSON array or object', line);
      } else if (mode === 'between') {
        if (ch === 0x2c) continue; // element separators (an empty element is skipped)
        if (ch === 0x5d) {
          mode = 'end';
          continue;
        }
        mode = 'element';
        startLine = line;
        parts = [];
        from = i;
        scalar = ch !== 0x7b && ch !== 0x5b;
        depth = scalar ? 0 : 1;
        inString = ch === 0x22;
      } else {
        throw new JsonDocumentError('content after the end of the top-level JSON value', line);
      }
    }
    if ((mode === 'element' || mode === 'single') && from >= 0) parts.push(chunk.slice(from));
  }
  if (mode === 'element' || mode === 'single') {
    yield { line: startLine, error: 'the file ends inside this element (truncated?)' };
    throw new JsonDocumentError('the file ends inside the JSON document (truncated?)', line);
  }
  if (mode === 'between') throw new JsonDocumentError('the JSON array is not closed (truncated?)', line);
  if (mode === 'start') return; // an empty file: no records
}
