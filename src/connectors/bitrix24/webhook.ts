import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../../engine/runtime.ts';
import { EVENTS, eventKind, INBOX_KIND, processEventRows, type StoredEvent } from './events.ts';
import type { ResourceContext } from './resources/common.ts';

/** Compares secrets in constant time (hashing first makes the lengths equal). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export interface WebhookDeps {
  system: string;
  applicationToken: string | undefined;
  resources: ResourceContext;
}

/**
 * POST /webhooks/bitrix24/<system>: Bitrix24's outbound events, form-encoded
 * (event, data[FIELDS][ID], data[FIELDS][TYPE] for catalog products, auth[application_token]…). The event is verified, written to the
 * inbox and only then answered 200 — Bitrix24 never re-sends an event, so nothing may be lost
 * between receiving and storing. Processing (fetch the object with *.get, ingest) runs after
 * the answer; rows left "received" by a crash are processed at the next start.
 */
export async function mountWebhook(app: FastifyInstance, runtime: Runtime, deps: WebhookDeps): Promise<void> {
  const path = `/webhooks/bitrix24/${deps.system}`;
  await app.register(async (scope) => {
    const type = 'application/x-www-form-urlencoded';
    if (scope.hasContentTypeParser(type)) scope.removeContentTypeParser(type);
    scope.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => done(null, body));
    scope.post(path, async (request, reply) => {
      const form = new URLSearchParams(typeof request.body === 'string' ? request.body : '');
      const token = form.get('auth[application_token]') ?? '';
      if (!deps.applicationToken) {
        return reply.code(403).send({
          error: `systems.${deps.system}.credentials.applicationToken is not set; events cannot be verified`,
        });
      }
      if (!sameSecret(token, deps.applicationToken)) {
        runtime.log.warn({ system: deps.system }, 'bitrix24 event with a wrong application_token refused');
        return reply.code(401).send({ error: 'application_token does not match' });
      }
      const event = String(form.get('event') ?? '').toUpperCase();
      const id = form.get('data[FIELDS][ID]') ?? '';
      if (!eventKind(event) || !/^\d+$/.test(id)) {
        return reply.code(400).send({ error: `unsupported event "${event}" or missing data[FIELDS][ID]` });
      }
      const stored: StoredEvent = { event, id, ts: form.get('ts'), type: form.get('data[FIELDS][TYPE]') };
      await runtime.store.db
        .insertInto('inbox')
        .values({
          system: deps.system,
          kind: INBOX_KIND,
          received_at: runtime.clock.now(),
          headers: null,
          payload: JSON.stringify(stored),
          state: 'received',
          processed_at: null,
          error: null,
        })
        .execute();
      setImmediate(() => {
        processInbox(runtime, deps).catch((error: unknown) =>
          runtime.log.warn(
            { system: deps.system, err: (error as Error).message },
            'bitrix24 inbox processing failed; will retry',
          ),
        );
      });
      return reply.code(200).send({ ok: true });
    });
  });
  // Events stored before a crash and never processed.
  setImmediate(() => void processInbox(runtime, deps).catch(() => {}));
}

/** The pass in progress per system: one at a time, events arriving meanwhile go to the next one. */
const passes = new Map<string, Promise<number>>();

/** Processes every "received" inbox row of this system, oldest first; returns how many. */
export function processInbox(runtime: Runtime, deps: WebhookDeps): Promise<number> {
  const previous = passes.get(deps.system) ?? Promise.resolve(0);
  const pass = previous.then(() => processPending(runtime, deps));
  passes.set(
    deps.system,
    pass.catch(() => 0),
  );
  return pass;
}

async function processPending(runtime: Runtime, deps: WebhookDeps): Promise<number> {
  const rows = await runtime.store.db
    .selectFrom('inbox')
    .select(['id', 'payload'])
    .where('system', '=', deps.system)
    .where('kind', '=', INBOX_KIND)
    .where('state', '=', 'received')
    .orderBy('id')
    .limit(500)
    .execute();
  if (rows.length === 0) return 0;
  const outcomes = await processEventRows(runtime, deps.system, deps.resources, rows);
  const now = runtime.clock.now();
  for (const [id, outcome] of outcomes) {
    await runtime.store.db
      .updateTable('inbox')
      .set({ state: outcome.state, processed_at: now, error: outcome.note })
      .where('id', '=', id)
      .execute();
  }
  return outcomes.size;
}

/**
 * OAuth apps subscribe with event.bind (webhooks: outgoing webhooks set up in the portal UI): the
 * CRM events and the catalog product events (the docs name event.bind as the way to get those).
 */
export async function bindEvents(
  resources: ResourceContext,
  handlerUrl: string,
  events: string[] = EVENTS,
): Promise<string[]> {
  const bound = await resources.client.call<Array<{ event: string; handler: string }>>('event.get');
  const have = new Set(
    (Array.isArray(bound.result) ? bound.result : [])
      .filter((b) => b.handler === handlerUrl)
      .map((b) => b.event.toUpperCase()),
  );
  const missing = events.filter((e) => !have.has(e));
  for (const event of missing)
    await resources.client.call('event.bind', { event, handler: handlerUrl, event_type: 'online' });
  return missing;
}
