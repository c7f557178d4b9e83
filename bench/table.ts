import type { EngineFigures } from './engine.ts';

/** The targets of the engine benchmark (stated for SQLite on a 2-core machine). */
export const TARGETS = {
  ingestPerSecond: 20_000,
  reingestPerSecond: 50_000,
  deliveryPerSecond: 10_000,
  peakRssMb: 300,
} as const;

interface Metric {
  label: string;
  target: string;
  value(f: EngineFigures): number;
  format(v: number): string;
  /** Absent for figures shown for information, without a target. */
  passes?: (v: number) => boolean;
  /** The one dialect the target is stated for (issue 2: new-record ingest on SQLite); others are shown. */
  only?: string;
}

const rate = (v: number) => `${Math.round(v).toLocaleString('en-US')}/s`;
const mb = (bytes: number) => bytes / 1024 / 1024;

const METRICS: Metric[] = [
  {
    label: 'ingest, new (records/s)',
    target: `≥ ${rate(TARGETS.ingestPerSecond)} (SQLite)`,
    value: (f) => f.ingest.perSecond,
    format: rate,
    passes: (v) => v >= TARGETS.ingestPerSecond,
    only: 'sqlite',
  },
  {
    label: 're-ingest, unchanged (records/s)',
    target: `≥ ${rate(TARGETS.reingestPerSecond)}`,
    value: (f) => f.reingest.perSecond,
    format: rate,
    passes: (v) => v >= TARGETS.reingestPerSecond,
  },
  {
    label: 're-ingest: versions created',
    target: '0',
    value: (f) => f.reingest.versionsCreated,
    format: String,
    passes: (v) => v === 0,
  },
  {
    label: 'delivery to noop (records/s)',
    target: `≥ ${rate(TARGETS.deliveryPerSecond)}`,
    value: (f) => f.delivery.perSecond,
    format: rate,
    passes: (v) => v >= TARGETS.deliveryPerSecond,
  },
  {
    label: 'matching from a 2nd system (records/s)',
    target: '—',
    value: (f) => f.matching.perSecond,
    format: rate,
  },
  {
    label: 'peak RSS, 50 ms samples (MB)',
    target: `≤ ${TARGETS.peakRssMb} MB`,
    value: (f) => mb(f.peakRssBytes),
    format: (v) => `${v.toFixed(0)} MB`,
    passes: (v) => v <= TARGETS.peakRssMb,
  },
  {
    label: 'RSS before the first record (MB)',
    target: '—',
    value: (f) => mb(f.baselineRssBytes),
    format: (v) => `${v.toFixed(0)} MB`,
  },
  {
    label: 'longest event-loop stall (ms)',
    target: '—',
    value: (f) =>
      Math.max(
        f.ingest.loopStallMaxMs,
        f.reingest.loopStallMaxMs,
        f.delivery.loopStallMaxMs,
        f.matching.loopStallMaxMs,
      ),
    format: (v) => `${Math.round(v).toLocaleString('en-US')} ms`,
  },
  {
    label: 'peak RSS, kernel maxrss (MB)',
    target: `≤ ${TARGETS.peakRssMb} MB`,
    value: (f) => mb(f.kernelMaxRssBytes),
    format: (v) => `${v.toFixed(0)} MB`,
    passes: (v) => v <= TARGETS.peakRssMb,
  },
];

type Result = { dialect: string; figures: EngineFigures } | { dialect: string; skipped: string };

/** Prints metric × dialect with pass/fail per cell; returns the verdict for the JSON. */
export function printTable(results: Result[], records: number) {
  const dialects = ['sqlite', 'postgres'];
  const cell = (dialect: string, metric: Metric) => {
    const result = results.find((r) => r.dialect === dialect);
    if (!result) return { text: 'not run', pass: undefined };
    if (!('figures' in result)) return { text: 'skipped', pass: undefined };
    const v = metric.value(result.figures);
    if (!metric.passes || (metric.only && metric.only !== dialect))
      return { text: metric.format(v), pass: undefined };
    const pass = metric.passes(v);
    return { text: `${metric.format(v)} ${pass ? 'PASS' : 'FAIL'}`, pass };
  };
  const header = ['metric', ...dialects, 'target'];
  const rows = METRICS.map((m) => [m.label, ...dialects.map((d) => cell(d, m).text), m.target]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' │ ');
  const out = [
    '',
    `engine benchmark — ${records.toLocaleString('en-US')} products`,
    line(header),
    widths.map((w) => '─'.repeat(w)).join('─┼─'),
    ...rows.map(line),
  ];
  for (const r of results) if (!('figures' in r)) out.push(`${r.dialect}: ${r.skipped}`);
  process.stdout.write(`${out.join('\n')}\n`);

  const pass: Record<string, Record<string, boolean | undefined>> = {};
  for (const d of dialects)
    pass[d] = Object.fromEntries(METRICS.filter((m) => m.passes).map((m) => [m.label, cell(d, m).pass]));
  return { targets: TARGETS, pass };
}
