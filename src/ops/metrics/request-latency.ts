import type { Store } from '../../store/store.ts';

/** Latency buckets in seconds: from a fast local API to a slow 1C export. */
export const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const READ_BATCH = 5000;

export interface LatencySeries {
  system: string;
  endpoint: string;
  /** Cumulative counts per bucket, then +Inf = count. */
  buckets: number[];
  count: number;
  sumSeconds: number;
  errors: number;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The path of a URL with ids folded, so labels stay few: numeric, UUID and long hex segments
 * become ":id", OData keys "(guid'…')" become "(:key)", and only the first five segments count.
 */
export function endpointLabel(url: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    path = url.split('?')[0] ?? url;
  }
  return (
    path
      .replace(/\([^)]*\)/g, '(:key)')
      .split('/')
      .slice(0, 6)
      .map((raw) => {
        // Decoded first: an encoded Cyrillic name is long in %XX form but is a name, not an id.
        const segment = safeDecode(raw);
        return /^\d+$/.test(segment) || /^[0-9a-f-]{16,}$/i.test(segment) || segment.length > 40
          ? ':id'
          : segment;
      })
      .join('/') || '/'
  );
}

/**
 * External request latency per system and endpoint, read from the request log. The log is
 * written by every process (workers make the calls, the API process usually makes none), so a
 * histogram kept in memory by the HTTP client would show nothing where /metrics is served.
 * The API process reads the log forward from the last id it saw, so counters only grow; rows
 * pruned by retention were already counted.
 */
export function createRequestLatency(store: Store) {
  const series = new Map<string, LatencySeries>();
  let lastId = 0;

  function observe(system: string, url: string, durationMs: number, failed: boolean): void {
    const endpoint = endpointLabel(url);
    const key = `${system}\u0000${endpoint}`;
    let s = series.get(key);
    if (!s) {
      s = { system, endpoint, buckets: LATENCY_BUCKETS.map(() => 0), count: 0, sumSeconds: 0, errors: 0 };
      series.set(key, s);
    }
    const seconds = durationMs / 1000;
    LATENCY_BUCKETS.forEach((le, index) => {
      if (seconds <= le) s.buckets[index]! += 1;
    });
    s.count += 1;
    s.sumSeconds += seconds;
    if (failed) s.errors += 1;
  }

  return {
    /** Reads log rows added since the last call. */
    async refresh(): Promise<void> {
      for (;;) {
        const rows = await store.db
          .selectFrom('request_log')
          .select(['id', 'system', 'url', 'duration_ms', 'error'])
          .where('id', '>', lastId)
          .orderBy('id')
          .limit(READ_BATCH)
          .execute();
        for (const row of rows) observe(row.system, row.url, Number(row.duration_ms), row.error !== null);
        if (rows.length > 0) lastId = Number(rows[rows.length - 1]!.id);
        if (rows.length < READ_BATCH) return;
      }
    },
    series(): LatencySeries[] {
      return [...series.values()].sort(
        (a, b) => a.system.localeCompare(b.system) || a.endpoint.localeCompare(b.endpoint),
      );
    },
  };
}

export type RequestLatency = ReturnType<typeof createRequestLatency>;
