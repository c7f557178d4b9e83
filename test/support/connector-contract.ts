import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RouteConfig } from '../../src/config/schema.ts';
import type { Connector, DeliveryItem, ItemOutcome } from '../../src/core/connector.ts';
import { ObmenError } from '../../src/core/errors.ts';

/** What one connector supplies to run the shared contract against its emulator. */
export interface ConnectorContractSetup {
  connector: Connector;
  route: RouteConfig;
  /** The same system with credentials the target refuses. */
  badCredentials: () => Connector;
  /** A valid item; distinct i → distinct object. */
  makeItem(i: number): DeliveryItem;
  /** An item the target refuses with a per-item error. */
  invalidItem(i: number): DeliveryItem;
  /** The target's own rejection text for invalidItem, which the outcome must carry. */
  invalidMessage?: string | RegExp;
  teardown(): Promise<void>;
}

/**
 * The contract every connector passes: check works and fails cleanly on bad credentials,
 * writes round-trip idempotently, partial failures are reported per item in input order,
 * close() is safe twice. Each test gets a fresh setup.
 */
export function defineConnectorContract(name: string, setup: () => Promise<ConnectorContractSetup>): void {
  const withSetup = (fn: (s: ConnectorContractSetup) => Promise<void>) => async () => {
    const s = await setup();
    try {
      await fn(s);
    } finally {
      await s.connector.close();
      await s.teardown();
    }
  };

  const write = async (s: ConnectorContractSetup, items: DeliveryItem[]): Promise<ItemOutcome[]> => {
    assert.ok(s.connector.write, `${name} must implement write()`);
    return s.connector.write(s.route, items);
  };

  describe(`connector contract: ${name}`, () => {
    it(
      'check() passes against a working system',
      withSetup(async (s) => {
        await s.connector.check();
      }),
    );

    it(
      'check() with bad credentials fails with a config ObmenError',
      withSetup(async (s) => {
        const bad = s.badCredentials();
        try {
          await assert.rejects(bad.check(), (error: unknown) => {
            assert.ok(error instanceof ObmenError, `expected ObmenError, got ${String(error)}`);
            assert.equal(error.errorClass, 'config');
            assert.ok(error.message.length > 0);
            return true;
          });
        } finally {
          await bad.close();
        }
      }),
    );

    it(
      'write() returns ok with an externalId per item, and re-writing keeps the same externalIds',
      withSetup(async (s) => {
        const items = [0, 1, 2].map((i) => s.makeItem(i));
        const first = await write(s, items);
        assert.deepEqual(
          first.map((o) => [o.recordId, o.ok]),
          items.map((item) => [item.recordId, true]),
        );
        const ids = first.map((o) => (o.ok ? o.externalId : ''));
        for (const id of ids)
          assert.ok(typeof id === 'string' && id.length > 0, 'externalId must be non-empty');
        assert.equal(new Set(ids).size, ids.length, 'distinct objects get distinct externalIds');

        // As after a crash before the outcome was recorded: same items, externalId unknown.
        const again = await write(s, items);
        assert.deepEqual(
          again.map((o) => (o.ok ? o.externalId : o.error.message)),
          ids,
        );
        // As the engine sends an update: the externalId is known.
        const known = items.map((item, i) => ({ ...item, version: item.version + 1, externalId: ids[i] }));
        const third = await write(s, known);
        assert.deepEqual(
          third.map((o) => (o.ok ? o.externalId : o.error.message)),
          ids,
        );
      }),
    );

    it(
      'a batch with invalid items reports one outcome per item, in input order',
      withSetup(async (s) => {
        const items = [s.makeItem(10), s.invalidItem(11), s.makeItem(12), s.invalidItem(13)];
        const outcomes = await write(s, items);
        assert.equal(outcomes.length, items.length);
        assert.deepEqual(
          outcomes.map((o) => o.recordId),
          items.map((item) => item.recordId),
        );
        assert.deepEqual(
          outcomes.map((o) => o.ok),
          [true, false, true, false],
        );
        for (const outcome of outcomes) {
          if (outcome.ok) continue;
          assert.ok(outcome.error instanceof ObmenError);
          assert.equal(outcome.error.errorClass, 'permanent');
          if (typeof s.invalidMessage === 'string')
            assert.ok(outcome.error.message.includes(s.invalidMessage));
          else if (s.invalidMessage) assert.match(outcome.error.message, s.invalidMessage);
        }
      }),
    );

    it(
      'close() twice is safe',
      withSetup(async (s) => {
        await s.connector.close();
        await s.connector.close();
      }),
    );
  });
}
