/**
 * Number, duration and time formatting for the dashboard (locale-aware digits, short units).
 */

const intFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const compactFmt = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

/** 1234567 -> "1,234,567" (or "1.2M" when `compact`). */
export function num(n: number | null | undefined, compact = false): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  return compact && Math.abs(n) >= 10_000 ? compactFmt.format(n) : intFmt.format(n);
}

/** Records per second: "0", "3.5/s", "1.2k/s". */
export function rate(n: number): string {
  if (!n) return '0/s';
  if (n < 10) return `${Math.round(n * 10) / 10}/s`;
  return `${compactFmt.format(n)}/s`;
}

/** Seconds as a short duration: "0 s", "850 ms", "12.5 s", "3 m 20 s", "2 h 5 m", "3 d". */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  const s = Math.max(0, seconds);
  if (s === 0) return '0 s';
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${Math.round(s * 10) / 10} s`;
  const parts = (big: number, bigUnit: string, small: number, smallUnit: string): string =>
    small ? `${big} ${bigUnit} ${small} ${smallUnit}` : `${big} ${bigUnit}`;
  if (s < 3600) return parts(Math.floor(s / 60), 'm', Math.round(s % 60), 's');
  if (s < 86400) return parts(Math.floor(s / 3600), 'h', Math.round((s % 3600) / 60), 'm');
  return `${Math.round(s / 86400)} d`;
}

/** An ISO time relative to now: "12 s ago". */
export function ago(iso: string | number | null | undefined, now = Date.now()): string {
  if (iso === null || iso === undefined) return '–';
  const t = typeof iso === 'number' ? iso : Date.parse(iso);
  if (!Number.isFinite(t)) return '–';
  return `${duration(Math.max(0, (now - t) / 1000))} ago`;
}

/** An ISO time as local date and time. */
export function time(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '–' : d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

/** Bytes as "123 MB". */
export function bytes(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Math.round(v)} ${units[i]}`;
}

/** Total lag of a stage, or null when unknown. */
export function lagOf(l: { pending: number | null; ack_pending: number | null }): number | null {
  return l.pending === null || l.ack_pending === null ? null : l.pending + l.ack_pending;
}
