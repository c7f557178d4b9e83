import type { Bitrix24Client } from '../client.ts';

/** One VAT rate of the portal's catalogue (catalog.vat.list, type catalog_vat). */
export interface VatRate {
  id: number;
  name: string;
  /** Percent; null for the "без НДС" (not subject to VAT) entry. */
  rate: number | null;
  active: boolean;
}

/** A rate's portal id, or what a person must do because the portal lacks it. */
export type VatLookup = { id: number } | { problem: string };

/** The portal's "without VAT" entry: no rate, or named so (portals differ in how they keep it). */
const WITHOUT_VAT = /без\s*ндс|without\s*vat|no\s*vat|vat\s*exempt|не\s*облагается/i;

function isWithoutVat(rate: VatRate): boolean {
  return rate.rate === null || WITHOUT_VAT.test(rate.name);
}

function describe(rate: number | null): string {
  return rate === null ? '«без НДС» (not subject to VAT)' : `${rate}%`;
}

/** The portal entry for a canonical rate: the active one when there are several. */
function pick(rates: readonly VatRate[], rate: number | null): VatRate | undefined {
  const candidates = rates.filter((r) =>
    rate === null ? isWithoutVat(r) : !isWithoutVat(r) && r.rate !== null && Math.abs(r.rate - rate) < 1e-9,
  );
  return candidates.find((r) => r.active) ?? candidates[0];
}

/**
 * Canonical VAT rate (percent, null = "без НДС") → the id of the portal's VAT rate, which is
 * what catalog.product wants (`vatId`). The portal's list is read once per connector (one
 * portal) and read again when a rate is not found, so a rate an administrator adds is used
 * without a restart.
 */
export class VatRates {
  private rates: Promise<VatRate[]> | undefined;

  constructor(
    private readonly client: Bitrix24Client,
    /** Where a person adds or activates a rate: a site keeps them in its shop settings. */
    private readonly addIn = 'Bitrix24 (CRM settings → VAT rates, or the catalog.vat.add method)',
  ) {}

  private load(): Promise<VatRate[]> {
    if (!this.rates) {
      this.rates = this.client
        .listAll('catalog.vat.list', { select: ['id', 'name', 'rate', 'active'] }, (r) =>
          Array.isArray((r as { vats?: unknown })?.vats)
            ? (r as { vats: Array<Record<string, unknown>> }).vats
            : [],
        )
        .then((rows) =>
          rows.map((row) => ({
            id: Number(row['id']),
            name: String(row['name'] ?? ''),
            rate:
              row['rate'] === null || row['rate'] === undefined || row['rate'] === ''
                ? null
                : Number(row['rate']),
            active: row['active'] !== 'N',
          })),
        );
      this.rates.catch(() => {
        this.rates = undefined;
      });
    }
    return this.rates;
  }

  /**
   * The ids for these rates; a rate the portal lacks (or keeps inactive) gets the problem to show,
   * naming the rate and what to do. A list read by an earlier call is read again once when a rate
   * is missing from it.
   */
  async resolve(wanted: ReadonlyArray<number | null>): Promise<Map<number | null, VatLookup>> {
    const cached = this.rates !== undefined;
    let rates = await this.load();
    if (cached && wanted.some((w) => !pick(rates, w)?.active)) {
      this.rates = undefined;
      rates = await this.load();
    }
    const out = new Map<number | null, VatLookup>();
    const known = rates
      .filter((r) => r.active)
      .map((r) => `${r.name} (id ${r.id})`)
      .join(', ');
    for (const rate of wanted) {
      const found = pick(rates, rate);
      if (found?.active) {
        out.set(rate, { id: found.id });
        continue;
      }
      const problem = found
        ? `the portal's VAT rate ${describe(rate)} "${found.name}" (id ${found.id}) is inactive; activate it`
        : `the portal has no VAT rate ${describe(rate)} (catalog.vat.list has: ${known || 'none'}); add it`;
      out.set(rate, {
        problem: `${problem} in ${this.addIn}, then retry the product (obmen failures retry)`,
      });
    }
    return out;
  }

  /** The canonical rate of a portal VAT id (reading products back); undefined when unknown. */
  async rateOf(vatId: unknown): Promise<number | null | undefined> {
    if (vatId === null || vatId === undefined || vatId === '') return undefined;
    const found = (await this.load()).find((r) => r.id === Number(vatId));
    if (!found) return undefined;
    return isWithoutVat(found) ? null : found.rate;
  }
}
