// Display helpers; the API sends times as epoch milliseconds or ISO text, both are accepted.

export function toDate(value: number | string | null | undefined): Date | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export function fmtTime(value: number | string | null | undefined, locale: string): string {
  const date = toDate(value);
  return date ? date.toLocaleString(locale) : '—';
}

export function fmtDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function fmtPercent(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || Number.isNaN(rate)) return '—';
  return `${(rate * 100).toFixed(rate > 0 && rate < 0.01 ? 2 : 1)}%`;
}

export function fmtValue(value: unknown): string {
  if (value === undefined) return '—';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** Pretty JSON for bodies that may arrive as text holding JSON. */
export function prettyBody(body: unknown): string {
  if (body === null || body === undefined) return '';
  if (typeof body === 'string') {
    try {
      return JSON.stringify(JSON.parse(body), null, 2);
    } catch {
      return body;
    }
  }
  return JSON.stringify(body, null, 2);
}

/** "2026-11-22" → local midnight in seconds (the x axis unit of uPlot). */
export function dayToSeconds(day: string): number {
  const [y, m, d] = day.split('-').map(Number);
  return Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1) / 1000;
}

/**
 * Date inputs ("2026-11-22", local days) as the API's epoch-millisecond bounds: `from` at the
 * start of its day, `to` at the end of its day, so one day picked in both covers that day.
 */
export function dayBounds(from: string, to: string): { from?: number; to?: number } {
  const start = (day: string) => {
    const [y, m, d] = day.split('-').map(Number);
    return new Date(y ?? 1970, (m ?? 1) - 1, d ?? 1).getTime();
  };
  return {
    ...(from ? { from: start(from) } : {}),
    ...(to ? { to: start(to) + 86_400_000 - 1 } : {}),
  };
}
