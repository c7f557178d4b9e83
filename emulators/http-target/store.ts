import { isDeepStrictEqual } from 'node:util';
import type { IncomingItem } from './faults.ts';

/** One object as the target holds it after writes. */
export interface HeldObject {
  externalId: string;
  data: unknown;
  version: number;
  writes: number;
  deleted: boolean;
}

/** One object the source side serves on GET /{entity}. */
export interface SeededObject {
  id: string;
  data: unknown;
  deleted: boolean;
  updatedAt: number;
}

export interface TargetStats {
  /** Item writes applied (every accepted item of every batch). */
  writes: number;
  /** Writes that created an object (and assigned an externalId). */
  creates: number;
  /** Writes to an object that already existed. */
  updates: number;
  /** Writes that changed nothing (same data and deleted flag as held). */
  unchanged: number;
  /** Writes carrying a lower version than the one held: delivery out of order. */
  stale: number;
  /** Write requests that reached the store (faulted ones are not counted here). */
  requests: number;
  /** Items refused with a per-item error. */
  rejected: number;
  /** Requests answered 429. */
  rateLimited: number;
  /** Requests answered 503 by injected faults. */
  failed: number;
  /** Protocol requests being answered right now (from arrival until the answer is sent). */
  inFlight: number;
  /** The most protocol requests ever in flight at once: what `limits.concurrency` must bound. */
  peakInFlight: number;
}

/** Outcome of one item, in the wire format of the protocol. */
export type WireResult =
  | { id: string; ok: true; externalId: string }
  | { id: string; ok: false; error: { code: string; message: string; retryable: boolean } };

const emptyStats = (): TargetStats => ({
  writes: 0,
  creates: 0,
  updates: 0,
  unchanged: 0,
  stale: 0,
  requests: 0,
  rejected: 0,
  rateLimited: 0,
  failed: 0,
  inFlight: 0,
  peakInFlight: 0,
});

/** In-memory state of the emulated target: written objects, seeded source objects, counters. */
export class TargetStore {
  readonly requests: Array<{ at: number; entity: string; ids: string[] }> = [];
  readonly stats: TargetStats = emptyStats();
  private readonly held = new Map<string, Map<string, HeldObject>>();
  private readonly sequence = new Map<string, number>();
  private readonly seeded = new Map<string, Map<string, SeededObject>>();
  private lastSeededAt = 0;

  constructor(private readonly now: () => number = Date.now) {}

  objects(entity: string): Map<string, HeldObject> {
    let map = this.held.get(entity);
    if (!map) {
      map = new Map();
      this.held.set(entity, map);
    }
    return map;
  }

  /** Upsert keyed by id: the externalId is assigned once, on creation, and never changes. */
  writeBatch(
    entity: string,
    items: IncomingItem[],
    reject: (item: IncomingItem) => string | undefined,
  ): WireResult[] {
    this.stats.requests++;
    this.requests.push({ at: this.now(), entity, ids: items.map((item) => item.id) });
    const objects = this.objects(entity);
    return items.map((item): WireResult => {
      const message = reject(item);
      if (message !== undefined) {
        this.stats.rejected++;
        return { id: item.id, ok: false, error: { code: 'rejected', message, retryable: false } };
      }
      this.stats.writes++;
      const existing = objects.get(item.id);
      if (!existing) {
        const next = (this.sequence.get(entity) ?? 0) + 1;
        this.sequence.set(entity, next);
        const created: HeldObject = {
          externalId: `T-${next}`,
          data: item.data,
          version: item.version,
          writes: 1,
          deleted: item.deleted,
        };
        objects.set(item.id, created);
        this.stats.creates++;
        return { id: item.id, ok: true, externalId: created.externalId };
      }
      this.stats.updates++;
      if (item.version < existing.version) this.stats.stale++;
      if (existing.deleted === item.deleted && isDeepStrictEqual(existing.data, item.data)) {
        this.stats.unchanged++;
      }
      existing.data = item.data;
      existing.version = item.version;
      existing.deleted = item.deleted;
      existing.writes++;
      return { id: item.id, ok: true, externalId: existing.externalId };
    });
  }

  seed(
    entity: string,
    items: Array<{ id: string; data: unknown; deleted?: boolean; updatedAt?: number }>,
  ): void {
    let map = this.seeded.get(entity);
    if (!map) {
      map = new Map();
      this.seeded.set(entity, map);
    }
    for (const item of items) {
      // Without an explicit time each seeded item is strictly newer than the previous one, so
      // re-seeding an id moves it past any cursor already handed out.
      const updatedAt = item.updatedAt ?? Math.max(this.now(), this.lastSeededAt + 1);
      this.lastSeededAt = Math.max(this.lastSeededAt, updatedAt);
      map.set(item.id, { id: item.id, data: item.data, deleted: item.deleted ?? false, updatedAt });
    }
  }

  /** Seeded objects after the cursor position, ordered by (updatedAt, id). */
  page(
    entity: string,
    since: string | undefined,
    limit: number,
  ): { items: SeededObject[]; next: string | null; cursor: string | null } {
    const after = since ? decodeCursor(since) : undefined;
    if (since && !after) throw new RangeError(`cursor "${since}" is not one this target handed out`);
    const all = [...(this.seeded.get(entity)?.values() ?? [])].sort(compareSeeded);
    const rest = after ? all.filter((item) => compareSeeded(item, after) > 0) : all;
    const items = rest.slice(0, limit);
    const last = items.at(-1);
    const cursor = last ? encodeCursor(last) : (since ?? null);
    return { items, next: rest.length > limit && last ? encodeCursor(last) : null, cursor };
  }
}

function compareSeeded(a: { updatedAt: number; id: string }, b: { updatedAt: number; id: string }): number {
  if (a.updatedAt !== b.updatedAt) return a.updatedAt - b.updatedAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function encodeCursor(item: { updatedAt: number; id: string }): string {
  return `${item.updatedAt}:${item.id}`;
}

/** Cursors are "<updatedAt ms>:<id>"; anything else is not a cursor of ours. */
function decodeCursor(cursor: string): { updatedAt: number; id: string } | undefined {
  const colon = cursor.indexOf(':');
  if (colon < 0) return undefined;
  const updatedAt = Number(cursor.slice(0, colon));
  if (!Number.isFinite(updatedAt)) return undefined;
  return { updatedAt, id: cursor.slice(colon + 1) };
}
