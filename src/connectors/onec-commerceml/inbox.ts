import type { FileReceivedEvent } from '../../exchange/commerceml/index.ts';
import type { Store } from '../../store/store.ts';

/** Inbox kind of a file received through the exchange (one row per file, updated per chunk). */
export const INBOX_KIND = 'commerceml.file';

interface FilePayload {
  type: string;
  filename: string;
  path: string;
  size: number;
  sha256: string;
  exchange: string;
}

/**
 * Records received files in the inbox BEFORE the chunk is acknowledged: what arrived, where it
 * lies, how big and which hash — not the content (files reach gigabytes; they stay on disk).
 */
export class InboxRecorder {
  private readonly rows = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly system: string,
    private readonly now: () => number,
  ) {}

  async received(event: FileReceivedEvent): Promise<void> {
    const payload: FilePayload = {
      type: event.type,
      filename: event.filename,
      path: event.path,
      size: event.size,
      sha256: event.sha256,
      exchange: event.session.key,
    };
    const known = this.rows.get(event.path);
    if (known !== undefined) {
      const updated = await this.store.db
        .updateTable('inbox')
        .set({ payload: JSON.stringify(payload), received_at: this.now(), state: 'received', error: null })
        .where('id', '=', known)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) > 0) return;
    }
    const row = await this.store.db
      .insertInto('inbox')
      .values({
        system: this.system,
        kind: INBOX_KIND,
        received_at: this.now(),
        headers: null,
        payload: JSON.stringify(payload),
        state: 'received',
        processed_at: null,
        error: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    this.rows.set(event.path, Number(row.id));
  }

  /** Marks the file's row processed or failed once its import ended. */
  async finished(path: string, error: string | undefined): Promise<void> {
    let id = this.rows.get(path);
    if (id === undefined) {
      // Received before a restart: find the newest row for this path.
      const candidates = await this.store.db
        .selectFrom('inbox')
        .select(['id', 'payload'])
        .where('system', '=', this.system)
        .where('kind', '=', INBOX_KIND)
        .orderBy('id', 'desc')
        .limit(200)
        .execute();
      id = candidates.find((row) => (JSON.parse(row.payload) as FilePayload).path === path)?.id;
      if (id === undefined) return;
      id = Number(id);
    }
    await this.store.db
      .updateTable('inbox')
      .set({ state: error ? 'failed' : 'processed', processed_at: this.now(), error: error ?? null })
      .where('id', '=', id)
      .execute();
    this.rows.delete(path);
  }
}
