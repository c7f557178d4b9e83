import type { ObmenConfig, SystemConfig } from '../../config/schema.ts';
import { configError } from '../../core/errors.ts';
import type { SecretBox } from '../../core/secrets.ts';
import type { Store } from '../../store/store.ts';

/**
 * System settings edited in the dashboard. They are stored per system as overrides and merged
 * over obmen.yaml at start (and on "test connection"), so the file stays the base and the
 * dashboard only ever changes what somebody changed there. Credentials are stored one value
 * at a time, each encrypted with the secret box; they never leave this module in clear except
 * into the connector's config.
 */

/** What the dashboard may change on a system (kind and name come from obmen.yaml only). */
export interface SystemPatch {
  url?: string | undefined;
  limits?: SystemConfig['limits'];
  options?: Record<string, unknown> | undefined;
  /** A value sets the secret; null removes the dashboard's value (obmen.yaml's applies again). */
  credentials?: Record<string, string | null> | undefined;
}

interface StoredSettings {
  url?: string;
  limits?: SystemConfig['limits'];
  options?: Record<string, unknown>;
}

function parseObject(text: string | null): Record<string, unknown> {
  if (!text) return {};
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

/** Every stored override, credentials decrypted: for the start-up merge and connection tests. */
export async function loadSystemOverrides(
  store: Store,
  box: SecretBox | undefined,
): Promise<Record<string, Partial<SystemConfig>>> {
  const rows = await store.db.selectFrom('system_settings').selectAll().execute();
  const out: Record<string, Partial<SystemConfig>> = {};
  for (const row of rows) {
    const settings = parseObject(row.settings) as StoredSettings;
    const encrypted = parseObject(row.credentials) as Record<string, string>;
    const override: Partial<SystemConfig> = { ...settings };
    if (Object.keys(encrypted).length > 0) {
      if (!box) {
        throw configError(
          `system ${row.system} has credentials saved in the dashboard, but OBMEN_SECRET_KEY is not set; set the key they were saved with`,
        );
      }
      override.credentials = Object.fromEntries(
        Object.entries(encrypted).map(([key, value]) => [key, box.decrypt(value)]),
      );
    }
    out[row.system] = override;
  }
  return out;
}

/** The config with dashboard overrides merged in; systems not in obmen.yaml are left out (their kind is unknown). */
export function applySystemOverrides(
  config: ObmenConfig,
  overrides: Record<string, Partial<SystemConfig>>,
): ObmenConfig {
  const systems: Record<string, SystemConfig> = {};
  for (const [name, base] of Object.entries(config.systems)) {
    const override = overrides[name];
    systems[name] = override ? mergeSystem(base, override) : base;
  }
  return { ...config, systems };
}

export function mergeSystem(base: SystemConfig, override: Partial<SystemConfig>): SystemConfig {
  const merged: SystemConfig = { ...base };
  if (override.url !== undefined) merged.url = override.url;
  if (override.limits !== undefined) merged.limits = override.limits;
  if (override.options !== undefined) merged.options = { ...(base.options ?? {}), ...override.options };
  if (override.credentials !== undefined) {
    merged.credentials = { ...(base.credentials ?? {}), ...override.credentials };
  }
  return merged;
}

/** Saves a patch over the stored override of one system. */
export async function saveSystemOverride(
  store: Store,
  box: SecretBox | undefined,
  system: string,
  patch: SystemPatch,
  user: string,
  now: number,
): Promise<void> {
  await store.tx(async (trx) => {
    const row = await trx
      .selectFrom('system_settings')
      .selectAll()
      .where('system', '=', system)
      .executeTakeFirst();
    const settings = parseObject(row?.settings ?? null) as StoredSettings;
    const credentials = parseObject(row?.credentials ?? null) as Record<string, string>;
    if (patch.url !== undefined) settings.url = patch.url;
    if (patch.limits !== undefined) settings.limits = patch.limits;
    if (patch.options !== undefined) settings.options = { ...(settings.options ?? {}), ...patch.options };
    for (const [key, value] of Object.entries(patch.credentials ?? {})) {
      if (value === null) {
        delete credentials[key];
        continue;
      }
      if (!box) {
        throw configError(
          'OBMEN_SECRET_KEY is not set, so credentials cannot be saved encrypted; set it in the environment of obmen and restart',
        );
      }
      credentials[key] = box.encrypt(value);
    }
    const values = {
      settings: JSON.stringify(settings),
      credentials: Object.keys(credentials).length > 0 ? JSON.stringify(credentials) : null,
      updated_by: user,
      updated_at: now,
    };
    if (row) await trx.updateTable('system_settings').set(values).where('system', '=', system).execute();
    else
      await trx
        .insertInto('system_settings')
        .values({ system, ...values })
        .execute();
  });
}

/** Which credential keys the dashboard has set per system (values are never read for display). */
export async function dashboardSettings(
  store: Store,
): Promise<Map<string, { settings: StoredSettings; credentialKeys: string[] }>> {
  const rows = await store.db.selectFrom('system_settings').selectAll().execute();
  return new Map(
    rows.map((row) => [
      row.system,
      {
        settings: parseObject(row.settings) as StoredSettings,
        credentialKeys: Object.keys(parseObject(row.credentials)),
      },
    ]),
  );
}
