/** A Bitrix24 REST error as the portal answers it: HTTP status + `{error, error_description}`. */
export class RestError extends Error {
  constructor(
    readonly status: number,
    /** Legacy crm.* methods answer an EMPTY code; catalog.* answers numeric codes. */
    readonly code: string | number,
    readonly description: string,
  ) {
    super(description);
  }
  body(): { error: string | number; error_description: string } {
    return { error: this.code, error_description: this.description };
  }
}

/** Legacy CRM quirk: HTTP 400, empty `error`, the reason in `error_description`. */
export const crmError = (description: string) => new RestError(400, '', description);
/** catalog.* quirk: HTTP 400 with a numeric code. */
export const catalogError = (code: number, description: string) => new RestError(400, code, description);

export const methodNotFound = (method: string) =>
  new RestError(404, 'ERROR_METHOD_NOT_FOUND', `Method not found! (${method})`);
