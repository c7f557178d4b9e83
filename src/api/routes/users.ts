import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { createToken, listTokens, listUsers, revokeToken, upsertUser } from '../../ops/auth/accounts.ts';
import { principalOf } from '../../ops/auth/guard.ts';
import { passwordProblem } from '../../ops/auth/passwords.ts';
import { ROLES } from '../../ops/auth/roles.ts';
import type { ApiContext } from '../context.ts';
import { ApiError, notFound } from '../errors.ts';
import { parseInput } from '../validation.ts';

const role = z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` });
const LOGIN = /^[A-Za-z0-9._@-]{1,64}$/;

const userBody = z
  .object({
    login: z.string({ error: 'must be a login' }).regex(LOGIN, {
      error: 'must be 1–64 letters, digits, ".", "_", "@" or "-"',
    }),
    password: z.string({ error: 'must be a password' }),
    role,
  })
  .strict();

const tokenBody = z
  .object({
    name: z
      .string({ error: 'must name what the token is for' })
      .min(1, { error: 'must name what the token is for' })
      .max(100, { error: 'must be at most 100 characters' }),
    role,
    expiresInDays: z.number({ error: 'must be a number of days' }).int().positive().max(3650).optional(),
  })
  .strict();

/** Users and API tokens: admin only. */
export function usersRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/users', { config: { access: 'admin' } }, async () => ({ items: await listUsers(ctx.store) }));

  app.post(
    '/users',
    { config: { access: 'admin', action: 'user.save', doc: { body: userBody } } },
    async (request, reply) => {
      const body = parseInput(userBody, request.body, 'body field');
      const problem = passwordProblem(body.password);
      if (problem) throw new ApiError(400, 'invalid_parameter', `body field "password" ${problem}`);
      const created = await upsertUser(ctx.store, body, ctx.now());
      reply.code(created ? 201 : 200);
      return { user: { login: body.login, role: body.role }, created };
    },
  );

  app.post(
    '/tokens',
    { config: { access: 'admin', action: 'token.create', doc: { body: tokenBody } } },
    async (request, reply) => {
      const body = parseInput(tokenBody, request.body, 'body field');
      const now = ctx.now();
      const token = await createToken(
        ctx.store,
        {
          name: body.name,
          role: body.role,
          createdBy: principalOf(request).login,
          expiresAt: body.expiresInDays === undefined ? undefined : now + body.expiresInDays * 86_400_000,
        },
        now,
      );
      reply.code(201);
      return { token, name: body.name, role: body.role };
    },
  );

  app.get('/tokens', { config: { access: 'admin' } }, async () => ({ items: await listTokens(ctx.store) }));

  app.delete<{ Params: { id: string } }>(
    '/tokens/:id',
    { config: { access: 'admin', action: 'token.revoke' } },
    async (request) => {
      if (!(await revokeToken(ctx.store, request.params.id))) {
        throw notFound(
          'token_not_found',
          `no API token with id "${request.params.id}" (see GET /api/v1/tokens)`,
        );
      }
      return { revoked: true };
    },
  );
}
