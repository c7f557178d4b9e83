import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { ManualClock } from '../src/core/clock.ts';
import { LEADER_LOCK_CLASS, type Leadership, startLeaderElection } from '../src/engine/leader.ts';
import { openStore, type Store } from '../src/store/store.ts';
import { forEachDialect } from './support/stores.ts';

/** Started with LEADER_CHILD=<name>, this file is a process that runs for leadership and reports changes. */
if (process.env.LEADER_CHILD) {
  const store = await openStore({
    url: process.env.OBMEN_DATABASE_URL as string,
    pgSchema: process.env.OBMEN_PG_SCHEMA,
    migrate: false,
  });
  const election = startLeaderElection(store, {
    name: process.env.LEADER_CHILD,
    owner: `child-${process.pid}`,
    checkEveryMs: 50,
    leaseMs: 500,
    onChange: (leader) => process.stdout.write(leader ? 'leader\n' : 'follower\n'),
  });
  process.stdin.resume();
  process.stdin.on('end', async () => {
    await election.stop();
    await store.close();
    process.exit(0);
  });
}

async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function elect(
  store: Store,
  name: string,
  owner: string,
  changes: boolean[] = [],
  clock?: ManualClock,
): Leadership {
  return startLeaderElection(store, {
    name,
    owner,
    leaseMs: 500,
    checkEveryMs: 30,
    onChange: (leader) => changes.push(leader),
    ...(clock ? { clock } : {}),
  });
}

/** The parent's environment minus the test runner's, so the child is a plain process. */
function childEnv(): NodeJS.ProcessEnv {
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  return env;
}

if (!process.env.LEADER_CHILD) runSuites();

function runSuites(): void {
  forEachDialect('leader election', (db) => {
    it('elects exactly one of two, and hands over when the leader stops', async () => {
      const storeA = await db().open();
      const storeB = await db().open();
      const name = `scheduler-${randomUUID().slice(0, 8)}`;
      const changesA: boolean[] = [];
      const changesB: boolean[] = [];
      const a = elect(storeA, name, 'a', changesA);
      const b = elect(storeB, name, 'b', changesB);
      try {
        await waitFor('a leader', () => a.isLeader() || b.isLeader());
        // Give the other several check periods to (wrongly) take it as well.
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(Number(a.isLeader()) + Number(b.isLeader()), 1);
        const [leader, follower, leaderChanges, followerChanges] = a.isLeader()
          ? [a, b, changesA, changesB]
          : [b, a, changesB, changesA];
        assert.deepEqual(leaderChanges, [true]);
        assert.deepEqual(followerChanges, []);

        await leader.stop();
        assert.equal(leader.isLeader(), false);
        assert.deepEqual(leaderChanges, [true, false]);
        await waitFor('the follower to take over', () => follower.isLeader());
        assert.deepEqual(followerChanges, [true]);
      } finally {
        await a.stop();
        await b.stop();
        await storeA.close();
        await storeB.close();
      }
    });

    it('keeps separate names apart', async () => {
      const store = await db().open();
      const one = elect(store, `one-${randomUUID().slice(0, 8)}`, 'x');
      const two = elect(store, `two-${randomUUID().slice(0, 8)}`, 'x');
      try {
        await waitFor('both leaders', () => one.isLeader() && two.isLeader());
      } finally {
        await one.stop();
        await two.stop();
        await store.close();
      }
    });

    it('waits out a dead owner’s live lease, then takes over', async (t) => {
      const store = await db().open();
      if (store.caps.advisoryLocks) {
        await store.close();
        t.skip('this database elects by advisory lock, not by lease');
        return;
      }
      const clock = new ManualClock();
      const name = 'scheduler';
      // A process that crashed while leading left a lease running for 10 more seconds.
      await store.db
        .insertInto('locks')
        .values({ name, owner: 'crashed', expires_at: clock.now() + 10_000 })
        .execute();
      const changes: boolean[] = [];
      const e = elect(store, name, 'me', changes, clock);
      try {
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(e.isLeader(), false);
        clock.advance(10_000);
        await waitFor('takeover after expiry', () => e.isLeader());
        const row = await store.db
          .selectFrom('locks')
          .selectAll()
          .where('name', '=', name)
          .executeTakeFirstOrThrow();
        assert.equal(row.owner, 'me');
        assert.ok(row.expires_at > clock.now());
        // A lease that can no longer be renewed in time stops counting, even before the next check.
        clock.advance(501);
        assert.equal(e.isLeader(), false);
      } finally {
        await e.stop();
      }
      const left = await store.db.selectFrom('locks').selectAll().where('name', '=', name).execute();
      assert.deepEqual(left, [], 'stop() releases the lease');
      await store.close();
    });

    it('hands over when the leader’s connection is terminated', async (t) => {
      const store = await db().open();
      if (!store.caps.advisoryLocks) {
        await store.close();
        t.skip('this database has no advisory locks');
        return;
      }
      const name = `scheduler-${randomUUID().slice(0, 8)}`;
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
        env: { ...childEnv(), ...db().env, LEADER_CHILD: name },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      let exited = false;
      child.stdout.on('data', (d) => {
        out += d;
      });
      child.stderr.on('data', (d) => {
        err += d;
      });
      child.on('exit', () => {
        exited = true;
      });
      let local: Leadership | undefined;
      try {
        await waitFor('the child to lead', () => out.includes('leader\n'), 30_000);
        local = elect(store, name, 'local');
        const elector = local;
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(elector.isLeader(), false);

        const holders = await sql<{ pid: number }>`
        select l.pid from pg_locks l
        where l.locktype = 'advisory' and l.granted and l.classid = ${LEADER_LOCK_CLASS}
          and l.objid::bigint = (hashtext(current_schema() || ':' || ${name})::bigint & 4294967295)
          and l.database = (select oid from pg_database where datname = current_database())`.execute(
          store.db,
        );
        assert.equal(holders.rows.length, 1);
        await sql`select pg_terminate_backend(${holders.rows[0]?.pid})`.execute(store.db);

        await waitFor('the local elector to take over', () => elector.isLeader());
        // The old leader must have stepped down (or, at worst, died) — never two leaders.
        await waitFor('the child to step down', () => exited || out.includes('leader\nfollower\n'));
        assert.equal(out.startsWith('leader\n'), true, `${out}\n${err}`);
      } finally {
        child.stdin.end();
        await waitFor('the child to exit', () => exited, 15_000).catch(() => child.kill('SIGKILL'));
        await local?.stop();
        await store.close();
      }
      assert.doesNotMatch(
        err,
        /Unhandled 'error' event/,
        'a terminated connection must not crash the process',
      );
      assert.equal(out, 'leader\nfollower\n', `the child must step down cleanly:\n${err}`);
    });
  });
}
