import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseDuration } from '../../config/units.ts';
import { writeAudit } from '../../ops/audit/audit.ts';
import { checkPassword, createSession, deleteSession } from '../../ops/auth/accounts.ts';
import { csrfTokenFor } from '../../ops/auth/credentials.ts';
import { principalOf, SESSION_COOKIE } from '../../ops/auth/guard.ts';
import { createLoginThrottle } from '../../ops/auth/throttle.ts';
import type { ApiContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { parseInput } from '../validation.ts';

const loginBody = z
  .object({
    login: z.string({ error: 'must be your login' }).min(1, { error: 'must be your login' }).max(100),
    password: z
      .string({ error: 'must be your password' })
      .min(1, { error: 'must be your password' })
      .max(200),
  })
  .strict();

/** Secure cookies only over https (directly or behind a proxy that says so): plain-http set-ups must still log in. */
function overHttps(request: FastifyRequest): boolean {
  return request.protocol === 'https' || request.headers['x-forwarded-proto'] === 'https';
}

function setSessionCookie(request: FastifyRequest, reply: FastifyReply, value: string, maxAgeMs: number) {
  reply.setCookie(SESSION_COOKIE, value, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: overHttps(request),
    maxAge: Math.floor(maxAgeMs / 1000),
  });
}

export function authRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const ttlMs = parseDuration(ctx.config.auth.sessionTtl);
  const throttle =
    ctx.throttle ??
    createLoginThrottle(ctx.config.auth.maxLoginFailures, parseDuration(ctx.config.auth.loginWindow));

  app.post(
    '/auth/login',
    { config: { access: 'public', noAudit: true, doc: { body: loginBody } } },
    async (request, reply) => {
      const body = parseInput(loginBody, request.body, 'body field');
      const key = `${body.login.toLowerCase()}|${request.ip}`;
      const now = ctx.now();
      const wait = throttle.blockedFor(key, now);
      if (wait > 0) {
        reply.header('retry-after', String(Math.ceil(wait / 1000)));
        throw new ApiError(
          429,
          'too_many_attempts',
          `too many failed logins for "${body.login}" from this address; try again in ${Math.ceil(wait / 60_000)} min`,
        );
      }
      const user = await checkPassword(ctx.store, body.login, body.password);
      if (!user) {
        throttle.fail(key, now);
        await writeAudit(ctx.store, {
          at: now,
          user: body.login,
          action: 'auth.login_failed',
          target: body.login,
          details: null,
          ip: request.ip,
        });
        throw new ApiError(401, 'bad_credentials', 'wrong login or password');
      }
      throttle.succeed(key);
      const sessionId = await createSession(ctx.store, user.login, now, ttlMs);
      setSessionCookie(request, reply, sessionId, ttlMs);
      await writeAudit(ctx.store, {
        at: now,
        user: user.login,
        action: 'auth.login',
        target: user.login,
        details: null,
        ip: request.ip,
      });
      return { user: { login: user.login, role: user.role }, csrfToken: csrfTokenFor(sessionId) };
    },
  );

  app.post(
    '/auth/logout',
    { config: { access: 'viewer', action: 'auth.logout' } },
    async (request, reply) => {
      const principal = principalOf(request);
      if (principal.sessionHash) await deleteSession(ctx.store, principal.sessionHash);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(204).send();
    },
  );

  app.get('/auth/me', { config: { access: 'viewer' } }, async (request) => {
    const principal = principalOf(request);
    return {
      user: { login: principal.login, role: principal.role },
      csrfToken: principal.csrfToken ?? null,
    };
  });
}
