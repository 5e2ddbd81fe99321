/**
 * What the generated parts of hand-written documents share: a block between two marker comments,
 * replaced whole, and Prettier's formatting of the result so `npm run lint` agrees with the generator.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');

/** Replaces what lies between the markers `start` and `end` in `doc` (named `file` in the error) with `body`. */
export function withBlock(doc: string, file: string, start: string, end: string, body: string): string {
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${file}: the markers ${start} and ${end} are missing`);
  return `${doc.slice(0, from + start.length)}\n\n${body}\n\n${doc.slice(to)}`;
}

/**
 * Formats `text` as Prettier formats the file at `rel`, so `prettier --check` agrees (its CLI: its
 * API is ES modules only, which jest's module loader cannot import).
 */
export function formatAs(rel: string, text: string): string {
  const bin = path.join(ROOT, 'node_modules/.bin/prettier');
  return execFileSync(bin, ['--stdin-filepath', path.join(ROOT, rel)], { input: text, encoding: 'utf8' });
}
