import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodType } from 'zod';
import { ApiError } from '../../api/errors.ts';
import type { Store } from '../../store/store.ts';
import { writeAudit } from '../audit/audit.ts';
import { sessionUser, tokenPrincipal } from './accounts.ts';
import { csrfTokenFor, sameText, TOKEN_PREFIX } from './credentials.ts';
import { defaultAccess, type Principal, type RouteAccess, roleAllows } from './roles.ts';

export const SESSION_COOKIE = 'obmen_session';
export const CSRF_HEADER = 'x-csrf-token';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; default by method (reads: viewer, changes: operator). */
    access?: RouteAccess;
    /** Audit action name; default "<METHOD> <route pattern>". */
    action?: string;
    /** Leave the audit to the handler (login writes its own row, with the outcome). */
    noAudit?: boolean;
    /** The zod schemas the handler parses, for the OpenAPI document. */
    doc?: { body?: ZodType; query?: ZodType };
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The access a matched route needs. */
export function routeAccess(request: FastifyRequest): RouteAccess {
  return request.routeOptions.config?.access ?? defaultAccess(request.method);
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) {
    throw new ApiError(
      401,
      'invalid_token',
      'the Authorization header must be "Bearer obm_…" (an API token)',
    );
  }
  return match[1];
}

/** Who the request comes from: an API token, a session cookie, or nobody. */
async function identify(request: FastifyRequest, store: Store, now: number): Promise<Principal | null> {
  const token = bearer(request);
  if (token !== undefined) {
    const found = token.startsWith(TOKEN_PREFIX) ? await tokenPrincipal(store, token, now) : undefined;
    if (!found) {
      throw new ApiError(
        401,
        'invalid_token',
        'the API token is unknown, revoked or expired; ask an admin for a new one',
      );
    }
    return { login: `token:${found.name}`, role: found.role, via: 'token' };
  }
  const sessionId = request.cookies?.[SESSION_COOKIE];
  if (!sessionId) return null;
  const session = await sessionUser(store, sessionId, now);
  if (!session) return null;
  return {
    login: session.user.login,
    role: session.user.role,
    via: 'session',
    sessionHash: session.hash,
    csrfToken: csrfTokenFor(sessionId),
  };
}

export interface AuthGuardOptions {
  store: Store;
  now: () => number;
  /** false: every request acts as the built-in admin "system" (tests of other routes, trusted set-ups). */
  enabled: boolean;
}

/**
 * Guards every route of the scope it is installed in: identifies the caller, enforces the
 * route's role, requires the CSRF header on cookie-authenticated changes, and writes an audit
 * row for every successful state change before the answer leaves (so a client that reads the
 * audit right after its change finds it).
 */
export function installAuthGuard(scope: FastifyInstance, options: AuthGuardOptions): void {
  scope.addHook('onRequest', async (request) => {
    if (!options.enabled) {
      request.principal = { login: 'system', role: 'admin', via: 'none' };
      return;
    }
    const access = routeAccess(request);
    const principal = await identify(request, options.store, options.now());
    request.principal = principal;
    if (access === 'public') return;
    if (!principal) {
      const hadCookie = Boolean(request.cookies?.[SESSION_COOKIE]);
      throw new ApiError(
        401,
        hadCookie ? 'session_expired' : 'unauthenticated',
        hadCookie
          ? 'your session has expired or was closed; log in again'
          : 'log in (POST /api/v1/auth/login) or send "Authorization: Bearer obm_…"',
      );
    }
    if (!roleAllows(principal.role, access)) {
      throw new ApiError(
        403,
        'forbidden',
        `this needs the ${access} role; you (${principal.login}) are ${principal.role}`,
      );
    }
    if (principal.via === 'session' && !SAFE_METHODS.has(request.method)) {
      const sent = request.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || !principal.csrfToken || !sameText(sent, principal.csrfToken)) {
        throw new ApiError(
          403,
          'csrf',
          `send the header ${CSRF_HEADER} with the csrfToken from GET /api/v1/auth/me (it guards against other sites acting in your name)`,
        );
      }
    }
  });

  scope.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload) => {
    if (SAFE_METHODS.has(request.method) || reply.statusCode >= 400) return payload;
    const config = request.routeOptions.config;
    if (!request.routeOptions.url || config?.noAudit) return payload;
    const params = request.params as Record<string, string> | undefined;
    await writeAudit(options.store, {
      at: options.now(),
      user: request.principal?.login ?? 'anonymous',
      action: config?.action ?? `${request.method} ${request.routeOptions.url}`,
      target: params && Object.keys(params).length > 0 ? Object.values(params).join('/') : null,
      details: request.body ?? null,
      ip: request.ip,
    });
    return payload;
  });
}

/** The principal of a guarded route (always set once the guard let the request through). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new ApiError(401, 'unauthenticated', 'log in first');
  return request.principal;
}
