import { type ErrorClass, ObmenError } from '../../core/errors.ts';

/** A Bitrix24 error body: `{error, error_description}`; legacy crm.* sends an empty `error`, catalog.* a number. */
export interface Bitrix24ErrorBody {
  error?: string | number;
  error_description?: string;
}

/** Codes that mean obmen is set up wrongly: retrying will not help, a person must act. */
const CONFIG_CODES: Record<string, string> = {
  NO_AUTH_FOUND: 'check the webhook code or the application tokens',
  invalid_token: 'the access token is not valid; authorise obmen again (obmen bitrix24 authorize <system>)',
  insufficient_scope: 'give the webhook/application the needed scope (crm, catalog) in Bitrix24',
  INVALID_CREDENTIALS:
    'no active inbound webhook has this user id and code (or its user lacks permissions); check the webhook code',
  ACCESS_DENIED: 'REST is unavailable on this plan or for this user',
  user_access_error: 'the application is restricted to other users',
  WRONG_AUTH_TYPE: 'this method needs an OAuth application, not a webhook',
  INVALID_REQUEST: 'Bitrix24 requires https:// in systems.<name>.url',
  OVERLOAD_LIMIT: 'REST was blocked for this portal by Bitrix24 support; contact them',
  PORTAL_DELETED: 'the portal was deleted or closed',
  METHOD_CONFIRM_WAITING: "a portal administrator must confirm the application's access to this method",
  METHOD_CONFIRM_DENIED: 'a portal administrator denied the application access to this method',
  ERROR_METHOD_NOT_FOUND:
    'the portal has no such method: check the plan, the installed modules and the scopes',
  ERROR_MANIFEST_IS_NOT_AVAILABLE: 'the method is not available on this portal',
  allowed_only_intranet_user: 'the webhook/application user must be an employee (intranet user)',
  invalid_client: 'check clientId and clientSecret of the application',
  invalid_grant:
    'the token or authorisation code was refused; authorise obmen again (obmen bitrix24 authorize <system>)',
  PAYMENT_REQUIRED: "the application's subscription or trial has ended",
};

/** The catalog "access denied" family (2000403000xx) is a permission problem, not bad data. */
const CATALOG_ACCESS = /^20004030\d{4}$/;

function classOf(status: number | undefined, code: string, description: string): ErrorClass {
  if (code === 'QUERY_LIMIT_EXCEEDED' || code === 'OPERATION_TIME_LIMIT') return 'rate_limited';
  if (code === 'expired_token') return 'auth_refresh';
  if (code in CONFIG_CODES) return 'config';
  if (CATALOG_ACCESS.test(code) && code !== '200040300000') return 'config';
  if (code === 'INTERNAL_SERVER_ERROR' || code === 'ERROR_UNEXPECTED_ANSWER') return 'transient';
  if (code === '' && /^access denied/i.test(description)) return 'config';
  if (status !== undefined && status >= 500) return 'transient';
  if (status === 429) return 'rate_limited';
  return 'permanent';
}

/**
 * One Bitrix24 error → the taxonomy, with a message naming the system, the method and the
 * portal's own text (users recognise it and can search the docs for it).
 */
export function bitrix24Error(
  system: string,
  method: string,
  body: Bitrix24ErrorBody,
  status?: number,
  retryAfterMs?: number,
  product = 'Bitrix24',
): ObmenError {
  const code = body.error === undefined || body.error === null ? '' : String(body.error);
  const description = String(body.error_description ?? '').trim();
  const errorClass = classOf(status, code, description);
  const reason = description || code || `HTTP ${status ?? '?'}`;
  const hint = CONFIG_CODES[code];
  let message = `${system}: ${product} ${method} failed: ${reason}`;
  if (code && description && code !== description) message += ` (${code})`;
  if (hint) message += `; ${hint}`;
  else if (errorClass === 'permanent') message += '; fix the data or the mapping, then retry';
  return new ObmenError(errorClass, message, {
    system,
    code: code || 'CRM_ERROR',
    detail: status === undefined ? undefined : `HTTP ${status}`,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/** Whether an error means "refresh the OAuth token and try again". */
export function needsRefresh(error: unknown): boolean {
  return error instanceof ObmenError && (error.code === 'expired_token' || error.code === 'invalid_token');
}
