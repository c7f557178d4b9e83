import { ObmenError } from '../../core/errors.ts';
import type { Runtime } from '../../engine/runtime.ts';
import { reauthorizationOf } from './index.ts';
import { authorizePath } from './reauth.ts';

/**
 * `obmen bitrix24 authorize <system> [--code CODE]`: without a code, prints the authorisation
 * link and what happens next; with one, exchanges it (within its 30 seconds) and stores the tokens.
 */
export async function runAuthorize(
  runtime: Runtime,
  system: string,
  code: string | undefined,
  out: (line: string) => void,
): Promise<number> {
  const config = runtime.config.systems[system];
  if (!config) throw new ObmenError('config', `unknown system "${system}"`);
  const reauth = reauthorizationOf(runtime.connectors.get(system));
  if (!reauth)
    throw new ObmenError(
      'config',
      `system ${system} is not a Bitrix24 OAuth application (kind bitrix24 with clientId/clientSecret); an inbound webhook needs a new webhook code instead`,
    );
  if (code) {
    const routes = runtime.config.routes.filter((r) => r.target === system).map((r) => r.name);
    const done = await reauth.withCode(code.trim(), routes);
    out(
      `${system}: authorised again (token version ${done.version}); ${done.requeued} parked deliveries queued again`,
    );
    return 0;
  }
  out(`Open this link in a browser logged in to Bitrix24 as a portal administrator (it is good for 10 minutes):

  ${reauth.link()}

Bitrix24 then sends the browser to the application's address with a code.
  • If that address is obmen's ${authorizePath(system)} (the application's handler URL in
    Bitrix24), obmen finishes by itself and the page says so.
  • Otherwise copy the value of "code" from the browser's address bar and, within 30 seconds, run:
      obmen bitrix24 authorize ${system} --code <code>`);
  return 0;
}
