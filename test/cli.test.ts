import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startChild } from './support/processes.ts';

const run = async (args: string[], env: Record<string, string> = {}) => {
  const child = startChild(['bin/obmen.mjs', ...args], env);
  const { code } = await child.exited;
  return { code, output: child.output() };
};

test('a malformed config is refused with the path and the fix, and nothing is written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'obmen-cli-'));
  try {
    const file = join(dir, 'obmen.yaml');
    writeFileSync(
      file,
      'routes:\n  - name: r1\n    entity: product\n    target: nowhere\n    schedule: every 15 sec\n',
    );
    const db = join(dir, 'hub.db');
    const result = await run(['config', 'check', '--config', file], { OBMEN_DATABASE_URL: db });
    assert.equal(result.code, 2);
    assert.match(result.output, /routes\[0\]\.schedule: "every 15 sec" is not an interval/);
    assert.match(result.output, /routes\[0\]\.target: system "nowhere" is not declared/);
    assert.doesNotMatch(result.output, /\n\s+at /, 'no stack trace');
    const start = await run(['sync', 'x', '--config', file], { OBMEN_DATABASE_URL: db });
    assert.equal(start.code, 2);
    const { existsSync } = await import('node:fs');
    assert.equal(existsSync(db), false, 'nothing was created');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config check refuses a route its target cannot receive, naming the route and what the target takes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'obmen-cli-'));
  try {
    const file = join(dir, 'obmen.yaml');
    writeFileSync(
      file,
      [
        'systems:',
        '  shop: { kind: bitrix-site, url: "http://127.0.0.1:9", credentials: { login: a, password: b } }',
        '  b24: { kind: bitrix24, url: "http://127.0.0.1:9", credentials: { webhookUserId: "1", webhookCode: c } }',
        'routes:',
        '  - { name: products-to-shop, entity: product, target: shop }',
        '  - { name: units-to-shop, entity: unit, target: shop }',
        '  - { name: groups-to-b24, entity: product_group, target: b24 }',
        '',
      ].join('\n'),
    );
    const result = await run(['config', 'check', '--config', file], {
      OBMEN_DATABASE_URL: join(dir, 'hub.db'),
    });
    assert.equal(result.code, 2);
    assert.ok(
      result.output.includes(
        'routes[1].entity: route units-to-shop sends unit to shop, a bitrix-site system, which cannot receive it; shop takes product_group, property, product, price_type, warehouse, price, stock, order, order_status. Remove the route or retarget it',
      ),
      result.output,
    );
    assert.ok(
      result.output.includes(
        'routes[2].entity: route groups-to-b24 sends product_group to b24, a bitrix24 system, which cannot receive it; b24 takes counterparty, contact, order, order_status, product, price, price_type, stock, warehouse. Remove the route or retarget it',
      ),
      result.output,
    );
    assert.doesNotMatch(result.output, /products-to-shop/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unknown commands, sources and routes get one clear line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'obmen-cli-'));
  try {
    const env = { OBMEN_DATABASE_URL: join(dir, 'hub.db'), OBMEN_CONFIG: join(dir, 'none.yaml') };
    const unknown = await run(['frobnicate'], { OBMEN_DATABASE_URL: env.OBMEN_DATABASE_URL });
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.output, /unknown command "frobnicate"/);
    const file = join(dir, 'ok.yaml');
    writeFileSync(
      file,
      'systems:\n  site:\n    kind: http\n    url: http://127.0.0.1:9\nroutes:\n  - name: r1\n    entity: product\n    target: site\n',
    );
    const sync = await run(['sync', 'nope', '--config', file], {
      OBMEN_DATABASE_URL: env.OBMEN_DATABASE_URL,
    });
    assert.equal(sync.code, 2);
    assert.match(sync.output, /unknown source "nope"/);
    const replay = await run(['replay', 'nope', '--config', file], {
      OBMEN_DATABASE_URL: env.OBMEN_DATABASE_URL,
    });
    assert.match(replay.output, /unknown route "nope"; configured: r1/);
    const status = await run(['status', '--config', file], { OBMEN_DATABASE_URL: env.OBMEN_DATABASE_URL });
    assert.equal(status.code, 0);
    assert.match(status.output, /no deliveries yet/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
