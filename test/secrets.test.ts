import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { loadInstallationKey } from '../src/core/secrets.ts';
import { ROOT, startChild } from './support/processes.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'obmen-secret-'));
  dirs.push(dir);
  return join(dir, 'data');
}

it('creates the installation key once, private, and reads the same key afterwards', () => {
  const dataDir = freshDir();
  const created = loadInstallationKey(dataDir, {});
  assert.equal(created.length, 32);
  assert.equal(statSync(join(dataDir, 'secret.key')).mode & 0o777, 0o600);
  assert.deepEqual(loadInstallationKey(dataDir, {}), created);
  assert.deepEqual(readdirSync(dataDir), ['secret.key'], 'no draft file is left behind');
});

it('processes starting together on a fresh data directory all end up with one key', async () => {
  const dataDir = freshDir();
  // Every child spins until the same instant, so their first-start checks really overlap.
  const startAt = Date.now() + 2500;
  const script = `import { loadInstallationKey } from ${JSON.stringify(join(ROOT, 'src/core/secrets.ts'))};
while (Date.now() < ${startAt});
process.stdout.write('key=' + loadInstallationKey(${JSON.stringify(dataDir)}, {}).toString('hex') + '\\n');`;
  const children = Array.from({ length: 6 }, () =>
    startChild(['--import', 'tsx', '--input-type=module', '-e', script], {}),
  );
  const exits = await Promise.all(children.map((child) => child.exited));
  const keys = children.map((child, n) => {
    assert.equal(exits[n]!.code, 0, child.output());
    return child.output().match(/key=([0-9a-f]{64})/)![1];
  });
  const onDisk = readFileSync(join(dataDir, 'secret.key'), 'utf8').trim();
  assert.deepEqual(new Set(keys), new Set([onDisk]));
  assert.deepEqual(readdirSync(dataDir), ['secret.key']);
});
