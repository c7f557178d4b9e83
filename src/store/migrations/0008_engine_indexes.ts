import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations describe tables that the typed schema does not know yet
type AnyDb = Kysely<any>;

/**
 * Fewer index entries per write of the tables the engine writes all the time.
 *
 * The outbox's (state, updated_at) index took an entry for every write of every row: ingest
 * marking it pending, the claim, the completion — three per delivery, for an index that only
 * the failures list and retention read, each for one state. Partial indexes hold only the rows
 * of that state: parked rows (failures list and alerts, by route and last change) and delivered rows
 * (retention, by delivery time). Pending and in-flight rows, the ones the engine writes all the
 * time, are in neither.
 *
 * links_by_external (entity, external_id) took an entry for every link written (one per object
 * from its source, one per target that answered with an id), for the external_id match rule
 * alone; that rule now looks an id up in links_pk (entity, system, external_id) once per
 * system of the entity (matching/find.ts linkedIn).
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema.dropIndex('outbox_state').execute();
  await sql`create index outbox_failed on outbox (route, updated_at) where state = 'failed'`.execute(db);
  await sql`create index outbox_delivered on outbox (delivered_at) where state = 'delivered'`.execute(db);
  await db.schema.dropIndex('links_by_external').execute();
}
