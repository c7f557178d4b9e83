import { configError, ObmenError } from '../../core/errors.ts';
import { redactUrl } from '../../http/redact.ts';
import type { SiteRest } from './rest-client.ts';

/**
 * `check()` for the REST part of a site: the webhook answers (`scope`, which any webhook may
 * call) and was given the `sale` scope the orders and statuses need. Every failure is a config
 * error naming the webhook's address with its code masked.
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
  if (!Array.isArray(scopes) || !scopes.includes('sale')) {
    throw configError(
      `${system}: the site's REST webhook at ${where} has no "sale" scope (it has: ${Array.isArray(scopes) ? scopes.join(', ') || 'none' : 'unknown'}); tick "Интернет-магазин (sale)" in the webhook's settings on the site`,
      { system, code: 'NO_SALE_SCOPE' },
    );
  }
}
