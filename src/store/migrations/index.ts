import type { Kysely } from 'kysely';
import type { DialectCapabilities } from '../capabilities.ts';
import * as m0001 from './0001_initial.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations run before the typed schema exists
export type MigrationFn = (db: Kysely<any>, caps: DialectCapabilities) => Promise<void>;

/** Numbered, forward-only. Append new migrations here; never edit or reorder old ones. */
export const MIGRATIONS: ReadonlyArray<{ id: string; up: MigrationFn }> = [
  { id: '0001_initial', up: m0001.up },
];
