import { randomBytes } from 'node:crypto';
import { type Expr, evaluate } from './filter.ts';
import { dataVersion, type SetDef } from './model.ts';

/**
 * The objects of one set: generated ones computed on demand from their index, edits held in
 * an overlay map, created ones after them. Sequential paging ($skip growing page by page) is
 * answered from a remembered position, so reading a million-item catalog costs O(n), not O(n²).
 */
export class SetStore {
  /** Index → edited object, or null when physically deleted. */
  private readonly overlay = new Map<number, Record<string, unknown> | null>();
  private readonly created = new Map<string, Record<string, unknown>>();
  private deletedGenerated = 0;
  private createdCounter = 0;
  /** (filter, order) → where the previous page ended: skip it answered up to, and the scan index. */
  private readonly positions = new Map<string, { skip: number; index: number }>();

  constructor(
    readonly def: SetDef,
    private readonly indexOfRef: (ref: string) => number | undefined,
  ) {}

  /** Total objects a scan walks (generated, then created). */
  private get span(): number {
    return this.def.count() + this.created.size;
  }

  private createdList: Array<Record<string, unknown>> | undefined;

  /** Object at scan position i (generated or created), or null when deleted. */
  private at(i: number): Record<string, unknown> | null {
    const count = this.def.count();
    if (i < count) {
      const edited = this.overlay.get(i);
      return edited === undefined ? this.def.generate(i) : edited;
    }
    this.createdList ??= [...this.created.values()];
    return this.createdList[i - count] ?? null;
  }

  get(ref: string): Record<string, unknown> | undefined {
    const k = this.indexOfRef(ref);
    if (k !== undefined && k < this.def.count()) {
      const found = this.at(k);
      return found ?? undefined;
    }
    return this.created.get(ref);
  }

  /** Stores a new state of an object; DataVersion moves on, as on every write in 1C. */
  put(ref: string, object: Record<string, unknown>): Record<string, unknown> {
    const previous = this.get(ref);
    const version = previous ? versionNumber(previous['DataVersion']) + 1 : 1;
    const stored = { ...object, DataVersion: dataVersion(version) };
    const k = this.indexOfRef(ref);
    if (k !== undefined && k < this.def.count()) this.overlay.set(k, stored);
    else {
      this.created.set(ref, stored);
      this.createdList = undefined;
    }
    return stored;
  }

  /** Stores a register record under its dimensions (no Ref_Key, no DataVersion); remove() drops it. */
  putRecord(key: string, object: Record<string, unknown>): void {
    this.created.set(key, object);
    this.createdList = undefined;
  }

  /** Replaces generated record k (registers have no Ref_Key and no DataVersion). */
  putIndex(k: number, object: Record<string, unknown>): void {
    this.overlay.set(k, object);
  }

  /** Drops generated record k (a balance that went to zero leaves the Balance table). */
  removeIndex(k: number): void {
    if (this.overlay.get(k) === null) return;
    this.overlay.set(k, null);
    this.deletedGenerated++;
  }

  generated(k: number): Record<string, unknown> | null {
    return this.at(k);
  }

  remove(ref: string): boolean {
    const k = this.indexOfRef(ref);
    if (k !== undefined && k < this.def.count()) {
      if (this.overlay.get(k) === null) return false;
      this.overlay.set(k, null);
      this.deletedGenerated++;
      return true;
    }
    this.createdList = undefined;
    return this.created.delete(ref);
  }

  /** A Ref_Key for a new object that sorts after every existing one, like 1C's time-based GUIDs. */
  newRef(): string {
    this.createdCounter++;
    const tail = randomBytes(6).toString('hex');
    return `f${this.createdCounter.toString(16).padStart(7, '0')}-${randomBytes(2).toString('hex')}-11e6-aede-${tail}`;
  }

  /**
   * One page. `orderBy` null means the natural key order (Ref_Key / register dimensions),
   * which needs no sorting.
   */
  query(
    filter: Expr | undefined,
    orderBy: Array<{ field: string; desc: boolean }> | null,
    skip: number,
    top: number,
  ) {
    const span = this.span;
    if (!filter && !orderBy && this.deletedGenerated === 0) {
      const rows: Array<Record<string, unknown>> = [];
      for (let i = skip; i < Math.min(span, skip + top); i++) {
        const row = this.at(i);
        if (row) rows.push(row);
      }
      return rows;
    }
    const matches = (row: Record<string, unknown> | null): row is Record<string, unknown> =>
      row !== null && (!filter || evaluate(filter, row));
    // `Ref_Key eq guid'…' or …` is answered by key, as 1C answers it from its index.
    const refs = filter ? keyLookup(filter) : undefined;
    if (refs) {
      const found = [...refs]
        .map((ref) => this.get(ref) ?? null)
        .filter(matches)
        .sort((a, b) => (String(a['Ref_Key']) < String(b['Ref_Key']) ? -1 : 1));
      return found.slice(skip, skip + top);
    }
    if (orderBy) {
      const all: Array<Record<string, unknown>> = [];
      for (let i = 0; i < span; i++) {
        const row = this.at(i);
        if (matches(row)) all.push(row);
      }
      all.sort((a, b) => {
        for (const { field, desc } of orderBy) {
          const x = String(a[field] ?? '');
          const y = String(b[field] ?? '');
          if (x !== y) return (x < y ? -1 : 1) * (desc ? -1 : 1);
        }
        return 0;
      });
      return all.slice(skip, skip + top);
    }
    const key = JSON.stringify(filter);
    const remembered = this.positions.get(key);
    let seen = 0;
    let i = 0;
    if (remembered && remembered.skip <= skip) {
      seen = remembered.skip;
      i = remembered.index;
    }
    const rows: Array<Record<string, unknown>> = [];
    for (; i < span && rows.length < top; i++) {
      const row = this.at(i);
      if (!matches(row)) continue;
      if (seen++ >= skip) rows.push(row);
    }
    this.positions.set(key, { skip: skip + rows.length, index: i });
    return rows;
  }

  count(filter: Expr | undefined): number {
    if (!filter && this.deletedGenerated === 0) return this.span;
    let n = 0;
    for (let i = 0; i < this.span; i++) {
      const row = this.at(i);
      if (row && (!filter || evaluate(filter, row))) n++;
    }
    return n;
  }

  /** Created objects, in creation order (test and CLI inspection). */
  createdObjects(): Array<Record<string, unknown>> {
    return [...this.created.values()];
  }
}

function versionNumber(value: unknown): number {
  if (typeof value !== 'string' || value === '') return 0;
  const bytes = Buffer.from(value, 'base64');
  return bytes.length >= 4 ? bytes.readUInt32BE(0) : 0;
}

/** The Ref_Keys a filter is limited to, when it is (… and) an `or` chain of `Ref_Key eq guid'…'`. */
function keyLookup(expr: Expr): Set<string> | undefined {
  if (expr.op === 'and') return keyLookup(expr.left) ?? keyLookup(expr.right);
  const refs = new Set<string>();
  const collect = (node: Expr): boolean => {
    if (node.op === 'or') return collect(node.left) && collect(node.right);
    if (node.op !== 'cmp' || node.cmp !== 'eq') return false;
    const { left, right } = node;
    if (!('field' in left) || left.field !== 'Ref_Key' || !('value' in right)) return false;
    refs.add(String(right.value));
    return true;
  };
  return collect(expr) ? refs : undefined;
}
