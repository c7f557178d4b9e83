import type { Bitrix24Client } from '../client.ts';

export type CrmEntity = 'contact' | 'company' | 'deal';

/**
 * User fields (`UF_CRM_…`) are created on first use: Bitrix24 silently ignores values for a
 * field that does not exist, so writing one before creating it would lose data without an error.
 */
export class UserFields {
  private readonly known = new Map<CrmEntity, Set<string>>();
  constructor(private readonly client: Bitrix24Client) {}

  async ensure(entity: CrmEntity, names: string[]): Promise<void> {
    const wanted = [...new Set(names.filter((n) => n.startsWith('UF_CRM_')))];
    if (wanted.length === 0) return;
    let known = this.known.get(entity);
    if (!known) {
      const fields = await this.client.listAll(
        `crm.${entity}.userfield.list`,
        {},
        (r) => (Array.isArray(r) ? r : []) as Array<{ FIELD_NAME?: string }>,
      );
      known = new Set(fields.map((f) => String(f.FIELD_NAME)));
      this.known.set(entity, known);
    }
    for (const name of wanted) {
      if (known.has(name)) continue;
      try {
        await this.client.call(`crm.${entity}.userfield.add`, {
          fields: {
            FIELD_NAME: name.replace(/^UF_CRM_/, ''),
            USER_TYPE_ID: 'string',
            XML_ID: name,
            EDIT_FORM_LABEL: { ru: name, en: name },
            LIST_COLUMN_LABEL: { ru: name, en: name },
          },
        });
      } catch (error) {
        // Another worker created it between our list and add: fine.
        if (!/already exists/i.test((error as Error).message)) throw error;
      }
      known.add(name);
    }
  }
}
