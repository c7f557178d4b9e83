import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations describe tables that the typed schema does not know yet
type AnyDb = Kysely<any>;

/**
 * record_history holds past versions only. Until now ingest wrote every version twice — into
 * `records` (the current one) and into `record_history` — so a first import stored each
 * object's JSON twice (records and history were each ~37 % of a big catalogue's database).
 * From now on ingest copies the version being replaced into history when a record changes,
 * and readers take the current version from `records`. This removes the history rows that
 * repeat a record's current version; older versions stay as they are.
 */
export async function up(db: AnyDb): Promise<void> {
  await sql`
    delete from record_history
    where exists (
      select 1 from records r
      where r.entity = record_history.entity
        and r.id = record_history.id
        and r.version = record_history.version
    )`.execute(db);
}
