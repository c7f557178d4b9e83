import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { openStore } from '../src/store/store.ts';

/**
 * WAL checkpoints on their own thread (store/checkpointer.ts): what a commit writes goes to the
 * WAL, and only a checkpoint copies it into the database file. The writer's own checkpoint
 * waits for 64 MB of WAL (256 MB beside the thread), so a database file that grows after a
 * 2 MB commit was checkpointed by the other thread.
 */
async function databaseGrowth(checkpointOnThread: boolean): Promise<{ before: number; after: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'obmen-checkpointer-'));
  const path = join(dir, 'obmen.db');
  const store = await openStore({ url: path, checkpointOnThread });
  try {
    await sql`create table filler (text text not null)`.execute(store.db);
    const before = (await stat(path)).size;
    await store.tx(async (trx) => {
      for (let i = 0; i < 200; i++)
        await sql`insert into filler (text) values (${`${i}`.padEnd(10_000, 'ж')})`.execute(trx);
    });
    let after = (await stat(path)).size;
    // The thread checkpoints every 500 ms; a few of its passes.
    for (let waited = 0; waited < 3000 && after < before + 2_000_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = (await stat(path)).size;
    }
    return { before, after };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('a store opened with checkpointOnThread has its WAL copied into the database file by another thread', async () => {
  const { before, after } = await databaseGrowth(true);
  assert.ok(after >= before + 2_000_000, `the database file grew from ${before} to ${after} bytes`);
});

test('without it, the commit stays in the WAL until the writer checkpoints (64 MB) or closes', async () => {
  const { before, after } = await databaseGrowth(false);
  assert.ok(after < before + 100_000, `the database file grew from ${before} to ${after} bytes`);
});
