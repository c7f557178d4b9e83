import { useState } from 'react';
import { api } from '../api.ts';
import { ErrorBox, Loading, Notice, Section } from '../components/ui.tsx';
import { useAction, useLoad } from '../hooks.ts';
import { useI18n } from '../i18n/index.tsx';
import type { Role, SystemSettings } from '../types.ts';

function parseJson(text: string, field: string): unknown {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${field}: ${(error as Error).message}`);
  }
}

const pretty = (value: unknown) => (value && Object.keys(value).length ? JSON.stringify(value, null, 2) : '');

function SystemCard(props: { system: SystemSettings; canEdit: boolean; onSaved: (name: string) => void }) {
  const { t } = useI18n();
  const s = props.system;
  const [url, setUrl] = useState(s.url ?? '');
  const [limits, setLimits] = useState(pretty(s.limits));
  const [options, setOptions] = useState(pretty(s.options));
  const [secrets, setSecrets] = useState<Record<string, string>>({});
  const [newKey, setNewKey] = useState('');
  const save = useAction(async () => {
    const credentials = Object.fromEntries(Object.entries(secrets).filter(([, v]) => v !== ''));
    const body = {
      url: url || undefined,
      limits: parseJson(limits, t('systems.limits')),
      options: parseJson(options, t('systems.options')),
      ...(Object.keys(credentials).length ? { credentials } : {}),
    };
    await api.put(`/systems/${encodeURIComponent(s.name)}`, body);
    setSecrets({});
    props.onSaved(s.name);
  });
  const test = useAction(() =>
    api.post<{ ok: boolean; message: string }>(`/systems/${encodeURIComponent(s.name)}/test`),
  );
  const keys = [...new Set([...Object.keys(s.credentials ?? {}), ...Object.keys(secrets)])];

  return (
    <Section
      title={`${s.name} · ${s.kind}`}
      actions={
        <span className={`badge ${s.source === 'dashboard' ? 'info' : ''}`}>
          {t(s.source === 'dashboard' ? 'systems.fromDashboard' : 'systems.fromConfig')}
        </span>
      }
    >
      <form
        className="form system-form"
        data-system={s.name}
        onSubmit={(e) => {
          e.preventDefault();
          void save.run();
        }}
      >
        <div className="col">
          <label>
            URL
            <input
              name="url"
              value={url}
              onChange={(e) => setUrl(e.target.value)}
              disabled={!props.canEdit}
            />
          </label>
          <label>
            {t('systems.limits')}
            <textarea
              name="limits"
              rows={4}
              value={limits}
              placeholder='{ "rate": "2/s", "burst": 5, "windows": [{ "from": "09:00", "to": "18:00", "rate": "1/s" }] }'
              onChange={(e) => setLimits(e.target.value)}
              disabled={!props.canEdit}
            />
          </label>
          <label>
            {t('systems.options')}
            <textarea
              name="options"
              rows={3}
              value={options}
              onChange={(e) => setOptions(e.target.value)}
              disabled={!props.canEdit}
            />
          </label>
        </div>
        <fieldset>
          <legend>{t('systems.credentials')}</legend>
          <p className="muted small">{t('systems.secretsWriteOnly')}</p>
          {keys.map((key) => (
            <label key={key} className="secret">
              <span>
                {key}{' '}
                <span className={`badge ${s.credentials?.[key]?.set ? 'good' : ''}`}>
                  {s.credentials?.[key]?.set ? t('systems.set') : t('systems.notSet')}
                </span>
              </span>
              <input
                type="password"
                name={`secret-${key}`}
                autoComplete="new-password"
                placeholder={t('systems.newValue')}
                value={secrets[key] ?? ''}
                onChange={(e) => setSecrets((v) => ({ ...v, [key]: e.target.value }))}
                disabled={!props.canEdit}
              />
            </label>
          ))}
          {props.canEdit ? (
            <div className="inline">
              <input
                placeholder={t('systems.newKey')}
                value={newKey}
                onChange={(e) => setNewKey(e.target.value)}
              />
              <button
                type="button"
                disabled={!newKey.trim()}
                onClick={() => {
                  setSecrets((v) => ({ ...v, [newKey.trim()]: '' }));
                  setNewKey('');
                }}
              >
                {t('systems.addKey')}
              </button>
            </div>
          ) : null}
        </fieldset>
        <div className="inline foot">
          {props.canEdit ? (
            <button type="submit" className="primary" disabled={save.busy}>
              {t('common.save')}
            </button>
          ) : (
            <span className="muted small">{t('systems.adminOnly')}</span>
          )}
          <button type="button" disabled={test.busy} onClick={() => void test.run()}>
            {t('systems.test')}
          </button>
          {test.result ? (
            <span className={test.result.ok ? 'good-text' : 'bad-text'} data-testid="test-result">
              {test.result.ok ? t('systems.testOk') : t('systems.testFailed')}: {test.result.message}
            </span>
          ) : null}
        </div>
        <div className="foot">
          <ErrorBox error={save.error ?? test.error} />
        </div>
      </form>
    </Section>
  );
}

export function SystemsPage(props: { role: Role }) {
  const { t } = useI18n();
  const systems = useLoad(() => api.get<{ items: SystemSettings[] }>('/systems'), []);
  const [saved, setSaved] = useState('');
  return (
    <div className="page">
      <div className="page-head">
        <h1>{t('nav.systems')}</h1>
        <Loading loading={systems.loading} />
      </div>
      <ErrorBox error={systems.error} />
      <Notice text={saved ? t('systems.saved', { name: saved }) : ''} />
      {(systems.data?.items ?? []).map((s) => (
        // The key includes the saved values so the form starts from what the server now holds.
        <SystemCard
          key={`${s.name}:${JSON.stringify([s.url, s.limits, s.options, s.credentials])}`}
          system={s}
          canEdit={props.role === 'admin'}
          onSaved={(name) => {
            setSaved(name);
            systems.reload();
          }}
        />
      ))}
    </div>
  );
}
