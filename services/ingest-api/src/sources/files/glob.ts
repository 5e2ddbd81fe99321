/**
 * File-name globs (`*.csv`, `orders-??.json`, `*.{csv,json}`) as regular expressions. Only these
 * three forms are needed for one folder level, so a dependency (minimatch, picomatch) would be
 * more than the job.
 */

/** Compiles `pattern` to a RegExp matching whole file names. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  let inBraces = false;
  for (const ch of pattern) {
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '{' && !inBraces) {
      inBraces = true;
      re += '(?:';
    } else if (ch === '}' && inBraces) {
      inBraces = false;
      re += ')';
    } else if (ch === ',' && inBraces) re += '|';
    else re += ch.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'i');
}
