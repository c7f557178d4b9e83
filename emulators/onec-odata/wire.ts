/** Answers on the wire: JSON and Atom bodies, and 1C's odata.error (DOC 17.4.10). */

export interface Answer {
  status: number;
  type: string;
  body: string;
  headers?: Record<string, string>;
}

/** A request 1C refuses: HTTP status plus 1C's internal error code. */
export class OdataRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Text content: quotes stay as they are (1C writes `"НакладнаяОтгрузки"` unescaped in m:message). */
const text = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const xml = (value: string) => text(value).replace(/"/g, '&quot;');

/** `{"odata.error":{"code":"9","message":{"lang":"ru","value":"…"}}}`, or the XML form without $format=json. */
export function errorAnswer(status: number, code: string, message: string, json: boolean): Answer {
  if (json) {
    return {
      status,
      type: 'application/json;charset=utf-8',
      body: JSON.stringify({ 'odata.error': { code, message: { lang: 'ru', value: message } } }),
    };
  }
  return {
    status,
    type: 'application/xml;charset=utf-8',
    body:
      '<?xml version="1.0" encoding="UTF-8"?>' +
      '<m:error xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">' +
      `<m:code>${code}</m:code><m:message xml:lang="ru">${text(message)}</m:message></m:error>`,
  };
}

const NS =
  'xmlns="http://www.w3.org/2005/Atom" xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" ' +
  'xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"';

function properties(entity: Record<string, unknown>): string {
  const out: string[] = [];
  for (const [key, value] of Object.entries(entity)) {
    if (key.includes('@') || key.startsWith('odata.')) continue;
    // Tabular sections are left out of the minimal Atom form; JSON carries them.
    if (Array.isArray(value)) continue;
    if (value === null) out.push(`<d:${key} m:null="true"/>`);
    else out.push(`<d:${key}>${text(String(value))}</d:${key}>`);
  }
  return `<m:properties>${out.join('')}</m:properties>`;
}

function entry(serviceUrl: string, setName: string, entity: Record<string, unknown>): string {
  const id =
    typeof entity['Ref_Key'] === 'string'
      ? `${serviceUrl}/${setName}(guid'${entity['Ref_Key']}')`
      : `${serviceUrl}/${setName}`;
  return (
    `<entry><id>${xml(id)}</id><category term="StandardODATA.${setName}" scheme="http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"/>` +
    `<title type="text"/><updated>${new Date().toISOString()}</updated><author/>` +
    `<content type="application/xml">${properties(entity)}</content></entry>`
  );
}

export function toAtomFeed(
  serviceUrl: string,
  setName: string,
  rows: Array<Record<string, unknown>>,
): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?><feed ${NS} xml:base="${xml(serviceUrl)}/">` +
    `<id>${xml(`${serviceUrl}/${setName}`)}</id><title type="text">${setName}</title><updated>${new Date().toISOString()}</updated>` +
    rows.map((row) => entry(serviceUrl, setName, row)).join('') +
    '</feed>'
  );
}

export function toAtomEntry(
  serviceUrl: string,
  setName: string,
  entity: Record<string, unknown>,
  root: boolean,
): string {
  const body = entry(serviceUrl, setName, entity);
  return root
    ? `<?xml version="1.0" encoding="UTF-8"?>${body.replace('<entry>', `<entry ${NS} xml:base="${xml(serviceUrl)}/">`)}`
    : body;
}
