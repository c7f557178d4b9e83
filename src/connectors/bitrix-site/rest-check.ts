import { configError, ObmenError } from '../../core/errors.ts';
import { redactUrl } from '../../http/redact.ts';
import type { SiteRest } from './rest-client.ts';
import { scopesFor } from './rest-spec.ts';

/** What each scope is called in the webhook's settings on the site. */
const SCOPE_LABELS: Record<string, string> = {
  sale: 'Интернет-магазин (sale)',
  catalog: 'Торговый каталог (catalog)',
};

/**
 * `check()` for the REST part of a site: the webhook answers (`scope`, which any webhook may
 * call) and was given the scopes the switched-on parts need: `sale` for orders and statuses,
 * `catalog` for the catalog. Every failure is a config error naming the webhook's address with
 * its code masked.
 */
export async function checkRest(site: SiteRest): Promise<void> {
  const system = site.ctx.systemName;
  const where = redactUrl(site.rest.webhookUrl);
  let scopes: unknown;
  try {
    scopes = (await site.client.call<unknown>('scope')).result;
  } catch (error) {
    if (error instanceof ObmenError && error.errorClass === 'config') throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw configError(
      `${system}: the site's REST webhook at ${where} does not answer (${reason}); check that the REST module is installed and systems.${system}.options.rest.webhookUser and credentials.restWebhookCode`,
      { system, code: 'CHECK_FAILED', cause: error },
    );
  }
  for (const scope of scopesFor(site.rest)) {
    if (Array.isArray(scopes) && scopes.includes(scope)) continue;
    throw configError(
      `${system}: the site's REST webhook at ${where} has no "${scope}" scope (it has: ${Array.isArray(scopes) ? scopes.join(', ') || 'none' : 'unknown'}); tick "${SCOPE_LABELS[scope]}" in the webhook's settings on the site`,
      { system, code: scope === 'sale' ? 'NO_SALE_SCOPE' : 'NO_CATALOG_SCOPE' },
    );
  }
}
