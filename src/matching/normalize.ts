/**
 * Normalisers for the identifiers people type by hand: phones, e-mails, INN and KPP. The same
 * customer written "8 (912) 345-67-89" in 1C and "+79123456789" in Bitrix24 must give the same
 * key, or matching creates a second customer. Each returns undefined for a value that is not a
 * usable identifier, so a typo never matches by accident.
 */

// "доб. 123", "ext. 12", "x12", "#12", ", 12" after the number: the office extension is not
// part of the line's identity.
const EXTENSION = /\s*(?:доб\.?|добавочный|ext\.?|extension|x|#|,|;)\s*\d{1,6}\s*$/i;

/** A phone split into its E.164 form (+7XXXXXXXXXX for Russia) and office extension. */
export interface ParsedPhone {
  e164: string;
  extension: string | undefined;
}

export function parsePhone(input: unknown): ParsedPhone | undefined {
  if (typeof input !== 'string' && typeof input !== 'number') return undefined;
  let text = String(input).trim();
  if (text === '') return undefined;
  let extension: string | undefined;
  const ext = EXTENSION.exec(text);
  if (ext) {
    extension = ext[0].replace(/\D/g, '');
    text = text.slice(0, ext.index);
  }
  // Only digits, spaces, dashes, dots, brackets and a leading "+" make a phone; letters mean
  // it is something else (a note, an e-mail) and must not become a key.
  if (!/^\+?[\d\s\-().\u00a0]+$/.test(text)) return undefined;
  const plus = text.startsWith('+');
  let digits = text.replace(/\D/g, '');
  if (plus) {
    if (digits.length < 8 || digits.length > 15) return undefined;
    // "+8 912…" is a common slip for the Russian trunk prefix.
    if (digits.length === 11 && digits.startsWith('8')) digits = `7${digits.slice(1)}`;
    return { e164: `+${digits}`, extension };
  }
  // Russian forms: 8XXXXXXXXXX (trunk prefix), 7XXXXXXXXXX, XXXXXXXXXX (10 digits, no prefix).
  if (digits.length === 11 && (digits.startsWith('8') || digits.startsWith('7'))) {
    return { e164: `+7${digits.slice(1)}`, extension };
  }
  if (digits.length === 10 && /^[3-9]/.test(digits)) return { e164: `+7${digits}`, extension };
  // International numbers written with the "810" or "00" exit code.
  if (digits.startsWith('810') && digits.length >= 11) return { e164: `+${digits.slice(3)}`, extension };
  if (digits.startsWith('00') && digits.length >= 10) return { e164: `+${digits.slice(2)}`, extension };
  return undefined;
}

/** "+7 (912) 345-67-89 доб. 12" → "+79123456789"; undefined when it is not a phone number. */
export function normalizePhone(input: unknown): string | undefined {
  return parsePhone(input)?.e164;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const GMAIL = new Set(['gmail.com', 'googlemail.com']);

/**
 * Trims and lower-cases; only Gmail ignores dots and "+tags" in the local part, so only
 * Gmail addresses lose them (for yandex.ru or a company domain "i.ivanov" and "iivanov" are
 * different mailboxes).
 */
export function normalizeEmail(input: unknown): string | undefined {
  if (typeof input !== 'string') return undefined;
  let text = input.trim().toLowerCase();
  if (text.startsWith('mailto:')) text = text.slice(7);
  // "Иван Петров <ivan@x.ru>" as some mail clients copy it.
  const angle = /<([^<>]+)>\s*$/.exec(text);
  if (angle) text = angle[1]!.trim();
  if (!EMAIL.test(text)) return undefined;
  const at = text.lastIndexOf('@');
  let local = text.slice(0, at);
  let domain = text.slice(at + 1);
  if (GMAIL.has(domain)) {
    local = local.split('+')[0]!.replace(/\./g, '');
    domain = 'gmail.com';
    if (local === '') return undefined;
  }
  return `${local}@${domain}`;
}

const INN10 = [2, 4, 10, 3, 5, 9, 4, 6, 8];
const INN11 = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
const INN12 = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];

function checkDigit(digits: string, weights: number[]): number {
  let sum = 0;
  for (let i = 0; i < weights.length; i++) sum += Number(digits[i]) * weights[i]!;
  return (sum % 11) % 10;
}

/** Why an INN is not valid, or undefined when it is (10 digits for a company, 12 for a person). */
export function innProblem(input: unknown): string | undefined {
  if (typeof input !== 'string' && typeof input !== 'number') return 'ИНН is empty';
  const digits = String(input).replace(/[\s-]/g, '');
  if (!/^\d+$/.test(digits)) return `ИНН "${String(input)}" must hold digits only`;
  if (digits.length === 10) {
    return checkDigit(digits, INN10) === Number(digits[9])
      ? undefined
      : `ИНН ${digits}: the check digit does not match (a typo?)`;
  }
  if (digits.length === 12) {
    const ok =
      checkDigit(digits, INN11) === Number(digits[10]) && checkDigit(digits, INN12) === Number(digits[11]);
    return ok ? undefined : `ИНН ${digits}: the check digits do not match (a typo?)`;
  }
  return `ИНН ${digits} must have 10 digits (company) or 12 (person, sole trader), not ${digits.length}`;
}

/** "7707 083 893" → "7707083893"; undefined unless the check digits are right. */
export function normalizeInn(input: unknown): string | undefined {
  if (innProblem(input) !== undefined) return undefined;
  return String(input).replace(/[\s-]/g, '');
}

/** KPP: 9 characters, 4 digits (tax office), 2 digits or capital letters (reason), 3 digits. */
export function normalizeKpp(input: unknown): string | undefined {
  if (typeof input !== 'string' && typeof input !== 'number') return undefined;
  const text = String(input).replace(/\s/g, '').toUpperCase();
  return /^\d{4}[0-9A-Z]{2}\d{3}$/.test(text) ? text : undefined;
}

/** Articles differ in case and spacing between systems ("ab-12 " vs "AB-12"). */
export function normalizeArticle(input: unknown): string | undefined {
  if (typeof input !== 'string' && typeof input !== 'number') return undefined;
  const text = String(input).trim().replace(/\s+/g, ' ').toUpperCase();
  return text === '' ? undefined : text;
}

/** Barcodes are digit strings; spaces inside are a formatting artefact. */
export function normalizeBarcode(input: unknown): string | undefined {
  if (typeof input !== 'string' && typeof input !== 'number') return undefined;
  const text = String(input).replace(/\s/g, '');
  return /^\d{6,14}$/.test(text) ? text : text === '' ? undefined : text.toUpperCase();
}
