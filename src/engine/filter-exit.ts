import { contentHash } from '../core/hash.ts';

/**
 * What a route does with a record its filter judged. The filter decides what the target should
 * hold, not only what is sent: a record the target holds (it has a link there) that stops
 * passing is written as deleted — a Bitrix24 product gets ACTIVE=N, a site element is
 * deactivated — unless the route says `filterExit: keep`; once it passes again the normal write
 * re-activates it. A record the target never got makes no write while it fails the filter, not
 * even its deletion.
 */
export type FilterStep =
  /** Passes: written as it is. */
  | { kind: 'send' }
  /** Left out, and the target holds nothing to take back (or the route keeps it): no write. */
  | { kind: 'skip' }
  /** Left the filter while the target holds it: written as deleted, with this content hash. */
  | { kind: 'deactivate'; hash: string };

export interface FilterJudgement {
  passes: boolean;
  /** The record itself is deleted in the hub. */
  deleted: boolean;
  /** The record's link in the target, when it has one: the target holds it. */
  link: { lastHash: string | null } | undefined;
  /** routes[].filterExit */
  policy: 'deactivate' | 'keep';
  /** false when the target connector has no way to write a deletion of this entity. */
  canDeactivate: boolean;
  /** The record's stored canonical JSON (records.data), for the exit hash. */
  json: string;
}

export function filterStep(j: FilterJudgement): FilterStep {
  if (j.passes) return { kind: 'send' };
  if (!j.link) return { kind: 'skip' };
  // The object is gone in the source and the target still holds it: the deletion always goes.
  if (j.deleted) return { kind: 'send' };
  if (j.policy === 'keep' || !j.canDeactivate) return { kind: 'skip' };
  const hash = exitHash(j.json);
  // The target already holds this content deactivated (the link keeps what it holds).
  if (j.link.lastHash === hash) return { kind: 'skip' };
  return { kind: 'deactivate', hash };
}

/**
 * The hash of what the target holds after a filter exit: the record's content, deleted. It is
 * the hash a deletion of the same content gets at ingest, so deleting the record later in the
 * source writes nothing more.
 */
export function exitHash(json: string): string {
  return contentHash(json, true);
}
