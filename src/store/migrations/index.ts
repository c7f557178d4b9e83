import type { Kysely } from 'kysely';
import type { DialectCapabilities } from '../capabilities.ts';
import * as m0001 from './0001_initial.ts';
import * as m0003 from './0003_exchange_sessions.ts';
import * as m0005 from './0005_bitrix24_tokens.ts';
import * as m0006 from './0006_mapping_matching.ts';
import * as m0007 from './0007_ops.ts';
import * as m0008 from './0008_engine_indexes.ts';
import * as m0009 from './0009_history_past_only.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations run before the typed schema exists
export type MigrationFn = (db: Kysely<any>, caps: DialectCapabilities) => Promise<void>;

/** Numbered, forward-only. Append new migrations here; never edit or reorder old ones. */
export const MIGRATIONS: ReadonlyArray<{ id: string; up: MigrationFn }> = [
  { id: '0001_initial', up: m0001.up },
  { id: '0003_exchange_sessions', up: m0003.up },
  { id: '0005_bitrix24_tokens', up: m0005.up },
  { id: '0006_mapping_matching', up: m0006.up },
  { id: '0007_ops', up: m0007.up },
  { id: '0008_engine_indexes', up: m0008.up },
  { id: '0009_history_past_only', up: m0009.up },
];
