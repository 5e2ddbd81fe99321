import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * Returns the last `lines` lines of a log file ('' when it does not exist), looking no further
 * back than byte `fromByte` (so a restarted server's error shows only its latest attempt).
 *
 * Reads only the end of the file: service logs in long e2e runs grow to megabytes and the
 * tail is what goes into error messages.
 */
export function logTail(path: string, lines = 40, fromByte = 0): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '';
  }
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(fromByte, size - 64 * 1024, 0);
    const buffer = Buffer.alloc(Math.max(0, size - start));
    readSync(fd, buffer, 0, buffer.length, start);
    return buffer
      .toString('utf8')
      .split('\n')
      .slice(-lines - 1)
      .join('\n')
      .trimEnd();
  } finally {
    closeSync(fd);
  }
}

/** Current size of a file in bytes (0 when missing): the `fromByte` for a later {@link logTail}. */
export function logSize(path: string): number {
  try {
    const fd = openSync(path, 'r');
    try {
      return fstatSync(fd).size;
    } finally {
      closeSync(fd);
    }
  } catch {
    return 0;
  }
}
