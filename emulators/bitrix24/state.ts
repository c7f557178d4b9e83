import { asList, asObject, type Params } from './params.ts';

/** A stored object; legacy CRM keeps every scalar as a string, catalog keeps real numbers. */
export type Row = Record<string, unknown>;

export const PAGE_SIZE = 50;

/** Everything the emulated portal holds, plus the hooks methods use (clock, events, counters). */
export class PortalState {
  readonly tables = new Map<string, Map<number, Row>>();
  private readonly sequences = new Map<string, number>();
  /** Deal id → product rows (crm.deal.productrows.*). */
  readonly productRows = new Map<number, Row[]>();
  /** `crm.<entity>.userfield.*`: entity → fields. */
  readonly userFields = new Map<string, Row[]>();
  /** Successful writes by method (tests assert "no extra writes"). */
  readonly writes = new Map<string, number>();

  constructor(
    readonly now: () => number,
    /**
     * Called after a change, e.g. ("ONCRMCONTACTADD", 12) or ("CATALOG.PRODUCT.ON.ADD", 7,
     * { TYPE: 1 }); `fields` go out as data[FIELDS][…] beside the ID.
     */
    readonly emit: (event: string, id: number, fields?: Record<string, string | number>) => void,
  ) {}

  table(name: string): Map<number, Row> {
    let table = this.tables.get(name);
    if (!table) {
      table = new Map();
      this.tables.set(name, table);
    }
    return table;
  }

  nextId(name: string): number {
    const id = (this.sequences.get(name) ?? 0) + 1;
    this.sequences.set(name, id);
    return id;
  }

  countWrite(method: string): void {
    this.writes.set(method, (this.writes.get(method) ?? 0) + 1);
  }

  /** Bitrix24 dates: ISO 8601 with an offset, second precision ("2026-01-01T12:00:00+00:00"). */
  date(): string {
    return `${new Date(this.now()).toISOString().slice(0, 19)}+00:00`;
  }
}

type Comparator = (actual: unknown) => boolean;

function comparable(value: unknown): number | string {
  if (typeof value === 'number') return value;
  const text = String(value ?? '');
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const ms = Date.parse(text);
    if (Number.isFinite(ms)) return ms;
  }
  return text;
}

function compare(a: unknown, b: unknown): number {
  const x = comparable(a);
  const y = comparable(b);
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  return String(x).localeCompare(String(y));
}

/** One filter entry `>=DATE_MODIFY: "…"` → a predicate on the row's field. */
function predicate(key: string, expected: unknown): { field: string; test: Comparator } {
  const match = /^(>=|<=|!=|!@|>|<|=|!|%|@)?(.+)$/.exec(key)!;
  const op = match[1] ?? '=';
  const field = match[2]!;
  const list = asList(expected).map(String);
  const tests: Record<string, Comparator> = {
    '>=': (v) => compare(v, expected) >= 0,
    '<=': (v) => compare(v, expected) <= 0,
    '>': (v) => compare(v, expected) > 0,
    '<': (v) => compare(v, expected) < 0,
    '!=': (v) => compare(v, expected) !== 0,
    '!': (v) => compare(v, expected) !== 0,
    '%': (v) =>
      String(v ?? '')
        .toLowerCase()
        .includes(String(expected).toLowerCase()),
    '@': (v) => list.includes(String(v)),
    '!@': (v) => !list.includes(String(v)),
    '=': (v) =>
      Array.isArray(expected) || asObject(expected) ? list.includes(String(v)) : compare(v, expected) === 0,
  };
  return { field, test: tests[op]! };
}

/** Field lookup ignoring case (catalog filters accept `productId` and `PRODUCT_ID` alike is NOT true, but ID/id is). */
function field(row: Row, name: string): unknown {
  if (name in row) return row[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(row)) if (key.toLowerCase() === lower) return row[key];
  return undefined;
}

export interface ListOutput {
  result: Row[];
  total: number;
  next?: number;
}

/**
 * filter / order / start as list methods apply them: 50 per page, `next` only when more rows
 * exist, and `start=-1` (the fast mode for big exports) skips counting: `total` is 0, no `next`.
 */
export function listRows(rows: Iterable<Row>, params: Params): ListOutput {
  const filter = asObject(params['filter']) ?? asObject(params['FILTER']) ?? {};
  const order = asObject(params['order']) ?? asObject(params['ORDER']) ?? { ID: 'ASC' };
  const tests = Object.entries(filter).map(([key, value]) => predicate(key, value));
  let matched = [...rows].filter((row) => tests.every((t) => t.test(field(row, t.field))));
  const orderEntries = Object.entries(order);
  matched = matched.sort((a, b) => {
    for (const [key, dir] of orderEntries) {
      const c = compare(field(a, key), field(b, key));
      if (c !== 0) return String(dir).toUpperCase() === 'DESC' ? -c : c;
    }
    return 0;
  });
  const startRaw = Number(params['start'] ?? params['START'] ?? 0);
  if (startRaw === -1) return { result: matched.slice(0, PAGE_SIZE), total: 0 };
  const start = Number.isFinite(startRaw) && startRaw > 0 ? Math.floor(startRaw) : 0;
  const page = matched.slice(start, start + PAGE_SIZE);
  const out: ListOutput = { result: page, total: matched.length };
  if (start + PAGE_SIZE < matched.length) out.next = start + PAGE_SIZE;
  return out;
}
