import { statSync } from 'node:fs';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { errorBody } from './errors.ts';

/** Where `npm run build:web` (vite build web) writes the dashboard. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

export interface DashboardOptions {
  /** The built dashboard (default: web/dist of this checkout). */
  dir?: string;
}

// The built files never inline scripts or styles, so a strict policy costs nothing; style
// attributes stay allowed because uPlot positions its chart elements with them.
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
};

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>obmen: dashboard not built</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40em;margin:4em auto;line-height:1.5">
<h1>The obmen dashboard is not built</h1>
<p>Run <code>npm run build:web</code> in the obmen folder, then reload this page.
The API under <code>/api/v1</code> works without it.</p>
<p lang="ru">Панель управления не собрана: выполните <code>npm run build:web</code> в папке obmen и обновите страницу.</p>
</body></html>
`;

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/') || path === '/metrics';
}

/**
 * Serves the dashboard built into web/dist: its files as they are, and index.html for every
 * other GET outside /api so that deep links (/failures, /journey/product/42) open the page.
 * Existence is checked per request, so a dashboard built after start is served at once.
 */
export async function dashboardRoutes(app: FastifyInstance, options: DashboardOptions = {}): Promise<void> {
  const dir = resolve(options.dir ?? DEFAULT_DASHBOARD_DIR);
  // serve: false: only reply.sendFile (range, etag, content types); routing stays here.
  await app.register(fastifyStatic, { root: dir, serve: false });

  const sendIndex = (reply: FastifyReply) => {
    if (!isFile(resolve(dir, 'index.html'))) {
      return reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
    }
    return reply
      .headers({ ...SECURITY_HEADERS, 'cache-control': 'no-cache' })
      .sendFile('index.html', { cacheControl: false });
  };

  app.get('/*', async (request, reply) => {
    let path: string;
    try {
      path = decodeURIComponent(request.url.split('?')[0] ?? '/');
    } catch {
      return reply.code(400).send(errorBody('invalid_request', 'the URL path is not valid percent-encoding'));
    }
    // Unknown API paths keep the API's JSON 404 instead of receiving the page.
    if (isApiPath(path)) {
      return reply.code(404).send(errorBody('not_found', `no such endpoint: GET ${path}`));
    }
    const file = resolve(dir, `.${path}`);
    const inside = file.startsWith(dir + sep);
    if (inside && path !== '/' && isFile(file)) {
      const relative = file
        .slice(dir.length + 1)
        .split(sep)
        .join('/');
      // Vite puts a content hash in every asset name: they may be cached for good.
      const hashed = relative.startsWith('assets/');
      return reply.sendFile(relative, {
        cacheControl: true,
        immutable: hashed,
        maxAge: hashed ? 31_536_000_000 : 0,
      });
    }
    // A missing script or stylesheet answers 404, not the page: HTML parsed as JS only confuses.
    if (path.startsWith('/assets/') || (extname(path) !== '' && extname(path) !== '.html')) {
      return reply.code(404).type('text/plain; charset=utf-8').send(`not found: ${path}`);
    }
    return sendIndex(reply);
  });
}
