import { z } from 'zod';
import { addressSchema, code, emailSchema, phoneSchema, record, refId, text } from './fields.ts';

/** Counterparties (companies and people) and their contact persons. */

export const COUNTERPARTY_KINDS = ['company', 'person'] as const;

export const counterpartySchema = record({
  kind: z.enum(COUNTERPARTY_KINDS).optional(),
  name: text(),
  fullName: z.string().optional(),
  inn: code(
    /^(?:\d{10}|\d{12})$/,
    'must be 10 digits (company) or 12 digits (person or sole trader)',
  ).optional(),
  kpp: code(/^\d{4}[0-9A-Z]{2}\d{3}$/, 'must be 9 characters, e.g. 773601001').optional(),
  ogrn: code(/^(?:\d{13}|\d{15})$/, 'must be 13 digits (15 for a sole trader)').optional(),
  phones: z.array(phoneSchema).optional(),
  emails: z.array(emailSchema).optional(),
  addresses: z.array(addressSchema).optional(),
  comment: z.string().optional(),
  deleted: z.boolean().optional(),
});

export const contactSchema = record({
  counterpartyId: refId().optional(),
  firstName: z.string().optional(),
  lastName: z.string().optional(),
  middleName: z.string().optional(),
  name: z.string().optional().meta({ description: 'Full name as one string, when a source has no parts' }),
  position: z.string().optional(),
  phones: z.array(phoneSchema).optional(),
  emails: z.array(emailSchema).optional(),
  deleted: z.boolean().optional(),
}).refine(
  (contact) => Boolean(contact.name?.trim() || contact.firstName?.trim() || contact.lastName?.trim()),
  {
    message: 'needs a name, firstName or lastName',
  },
);

export type Counterparty = z.infer<typeof counterpartySchema>;
export type Contact = z.infer<typeof contactSchema>;
