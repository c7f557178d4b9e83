import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ExchangeRequest, ExchangeServer } from '../../exchange/commerceml/index.ts';

/** Where 1C posts: the Bitrix path (an administrator only swaps the host) and obmen's own. */
export const EXCHANGE_PATHS = ['/bitrix/admin/1c_exchange.php', '/exchange/1c'] as const;

// One app may host several 1C systems: the routes are registered once per app, and each
// request is dispatched by name (`/exchange/1c/<system>`) or to the first system mounted.
const mounted = new WeakMap<FastifyInstance, Map<string, ExchangeServer>>();

/** Adds the exchange routes for one system to the API server. */
export async function mountExchange(
  app: FastifyInstance,
  system: string,
  server: ExchangeServer,
): Promise<void> {
  const existing = mounted.get(app);
  if (existing) {
    existing.set(system, server);
    return;
  }
  const servers = new Map<string, ExchangeServer>([[system, server]]);
  mounted.set(app, servers);

  await app.register(async (scope) => {
    // File chunks reach 100 MB and more: the body is streamed to disk by the exchange, never
    // buffered or parsed, whatever Content-Type 1C sends (octet-stream, none, text/plain).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

    const handle = async (
      request: FastifyRequest,
      reply: FastifyReply,
      target: ExchangeServer | undefined,
    ) => {
      const body = request.body as IncomingMessage | undefined;
      if (!target) {
        body?.resume();
        return reply.code(404).type('text/plain; charset=utf-8').send('unknown exchange system\n');
      }
      const exchangeRequest: ExchangeRequest = {
        query: request.query as Record<string, string | undefined>,
        authorization: request.headers.authorization,
        cookie: request.headers.cookie,
        body: body && typeof body[Symbol.asyncIterator] === 'function' ? body : undefined,
      };
      const answer = await target.handle(exchangeRequest);
      // A body the mode did not read (a POST to checkauth) is drained so keep-alive goes on.
      if (body && !body.readableEnded) body.resume();
      reply.code(answer.status).header('content-type', answer.contentType);
      for (const [name, value] of Object.entries(answer.headers ?? {})) reply.header(name, value);
      return reply.send(answer.body);
    };

    for (const path of EXCHANGE_PATHS) {
      scope.route({
        method: ['GET', 'POST'],
        url: path,
        handler: (request, reply) => handle(request, reply, servers.values().next().value),
      });
    }
    scope.route({
      method: ['GET', 'POST'],
      url: '/exchange/1c/:system',
      handler: (request, reply) =>
        handle(request, reply, servers.get((request.params as { system: string }).system)),
    });
  });
}
