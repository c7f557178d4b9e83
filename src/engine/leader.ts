import { sql } from 'kysely';
import type { Logger } from 'pino';
import { type Clock, systemClock } from '../core/clock.ts';
import type { Store } from '../store/store.ts';

/** One process's standing in a leader election; stop() gives leadership up at once. */
export interface Leadership {
  isLeader(): boolean;
  stop(): Promise<void>;
}

export interface LeaderOptions {
  /** What is being led; one leader per name (and per PostgreSQL schema). Default "scheduler". */
  name?: string;
  /** This process (see newOwnerId). */
  owner: string;
  /** How long a lease in the `locks` table lasts without renewal (SQLite). Default 30 s. */
  leaseMs?: number;
  /** How often the lease is renewed / the held connection is checked. Default leaseMs / 3. */
  checkEveryMs?: number;
  onChange?: (leader: boolean) => void;
  /** Time for lease stamps. Pacing between checks always uses real timers. */
  clock?: Clock;
  logger?: Logger;
}

/**
 * Two-key advisory locks live in a key space apart from the one-key locks that migrations use;
 * the first key says "leader election", the second is the name hashed with the schema, so two
 * installations sharing a database in different schemas elect their own leaders.
 */
export const LEADER_LOCK_CLASS = 727002;

export function startLeaderElection(store: Store, options: LeaderOptions): Leadership {
  const name = options.name ?? 'scheduler';
  const leaseMs = options.leaseMs ?? 30_000;
  const checkEveryMs = options.checkEveryMs ?? Math.max(10, Math.floor(leaseMs / 3));
  const clock = options.clock ?? systemClock;
  const stopping = new AbortController();
  const signal = stopping.signal;
  let leader = false;
  let leaseUntil = 0;

  function setLeader(value: boolean): void {
    if (value === leader) return;
    leader = value;
    options.logger?.info(
      { name, owner: options.owner, leader: value },
      value ? 'became leader' : 'leadership lost',
    );
    options.onChange?.(value);
  }

  // A ManualClock's sleep returns at once, which would spin this loop; pacing is real time.
  const pause = (ms: number) => systemClock.sleep(ms, signal);

  async function advisoryLoop(): Promise<void> {
    while (!signal.aborted) {
      try {
        // The lock belongs to the database session, so the connection is held (not returned
        // to the pool) for as long as leadership lasts; when this process dies, PostgreSQL
        // drops the session and with it the lock, and another process takes over.
        await store.db.connection().execute(async (conn) => {
          const key = sql`${LEADER_LOCK_CLASS}, hashtext(current_schema() || ':' || ${name})`;
          const got = await sql<{ ok: boolean }>`select pg_try_advisory_lock(${key}) as ok`.execute(conn);
          if (!got.rows[0]?.ok) return;
          try {
            setLeader(true);
            while (!signal.aborted) {
              await pause(checkEveryMs);
              if (signal.aborted) break;
              // A dead connection means the lock is gone too; the query throws and we step down.
              await sql`select 1`.execute(conn);
            }
          } finally {
            // Step down before the lock is released, so two processes never both act as leader.
            setLeader(false);
          }
          await sql`select pg_advisory_unlock(${key})`.execute(conn);
        });
      } catch (error) {
        setLeader(false);
        options.logger?.warn({ err: error, name }, 'leader election: database connection failed; retrying');
      }
      if (!signal.aborted) await pause(checkEveryMs);
    }
  }

  async function leaseLoop(): Promise<void> {
    while (!signal.aborted) {
      const now = clock.now();
      try {
        if (await takeLease(store, name, options.owner, now, leaseMs)) {
          leaseUntil = now + leaseMs;
          setLeader(true);
        } else {
          setLeader(false);
        }
      } catch (error) {
        // Unable to renew: the lease still counts until it runs out (isLeader checks that).
        if (clock.now() >= leaseUntil) setLeader(false);
        options.logger?.warn({ err: error, name }, 'leader election: cannot renew the lease; retrying');
      }
      await pause(checkEveryMs);
    }
    setLeader(false);
    leaseUntil = 0;
    try {
      await store.db
        .deleteFrom('locks')
        .where('name', '=', name)
        .where('owner', '=', options.owner)
        .execute();
    } catch (error) {
      // The lease then simply expires; the next leader waits at most leaseMs.
      options.logger?.warn({ err: error, name }, 'leader election: cannot release the lease; it will expire');
    }
  }

  const loop = store.caps.advisoryLocks ? advisoryLoop() : leaseLoop();

  return {
    isLeader: () => leader && (store.caps.advisoryLocks || clock.now() < leaseUntil),
    async stop() {
      stopping.abort();
      await loop;
    },
  };
}

/**
 * Takes or renews the lease `name` for `owner` in one statement: inserted when free, taken
 * over when expired, renewed when already ours; a live lease of another owner is left alone.
 */
export async function takeLease(
  store: Store,
  name: string,
  owner: string,
  now: number,
  leaseMs: number,
): Promise<boolean> {
  const result = await store.db
    .insertInto('locks')
    .values({ name, owner, expires_at: now + leaseMs })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet({ owner, expires_at: now + leaseMs })
        .where((eb) => eb.or([eb('locks.owner', '=', owner), eb('locks.expires_at', '<=', now)])),
    )
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}
