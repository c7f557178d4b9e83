import { useState } from 'react';
import { api } from '../api.ts';
import { ErrorBox, Json, Loading, Section } from '../components/ui.tsx';
import { useAction, useLoad } from '../hooks.ts';
import { useI18n } from '../i18n/index.tsx';
import { navigate } from '../router.ts';
import type { MappingTest, MappingView, Overview } from '../types.ts';

export function MappingPage(props: { route: string }) {
  const { t } = useI18n();
  const routes = useLoad(() => api.get<Overview>('/overview').then((o) => o.queue.map((q) => q.route)), []);
  const mapping = useLoad(
    async () =>
      props.route ? api.get<MappingView>(`/mapping/${encodeURIComponent(props.route)}`) : undefined,
    [props.route],
  );
  const [recordId, setRecordId] = useState('');
  const [sample, setSample] = useState('');
  const dryRun = useAction(async () => {
    let body: { recordId?: string; sample?: unknown } = {};
    if (recordId) body = { recordId };
    else if (sample.trim()) {
      try {
        body = { sample: JSON.parse(sample) };
      } catch (error) {
        throw new Error(`${t('mapping.sample')}: ${(error as Error).message}`);
      }
    }
    return api.post<MappingTest>(`/mapping/${encodeURIComponent(props.route)}/test`, body);
  });

  return (
    <div className="page">
      <div className="page-head">
        <h1>{t('nav.mapping')}</h1>
        <select
          name="mapping-route"
          value={props.route}
          onChange={(e) =>
            navigate(e.target.value ? `/mapping/${encodeURIComponent(e.target.value)}` : '/mapping')
          }
        >
          <option value="">{t('flows.chooseRoute')}</option>
          {(routes.data ?? []).map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
        <Loading loading={mapping.loading && Boolean(props.route)} />
      </div>
      <ErrorBox error={routes.error ?? mapping.error} />
      {mapping.data ? (
        <div className="grid2">
          <Section title={t('mapping.spec')}>
            <Json value={mapping.data.spec} />
            <h3>{t('mapping.versions')}</h3>
            <Json value={mapping.data.versions} />
          </Section>
          <Section title={t('mapping.dryRun')}>
            <p className="muted small">{t('mapping.dryRunHelp')}</p>
            <form
              className="form"
              onSubmit={(e) => {
                e.preventDefault();
                void dryRun.run();
              }}
            >
              <label>
                {t('holds.recordId')}
                <input name="recordId" value={recordId} onChange={(e) => setRecordId(e.target.value)} />
              </label>
              <label>
                {t('mapping.sample')}
                <textarea name="sample" rows={5} value={sample} onChange={(e) => setSample(e.target.value)} />
              </label>
              <button type="submit" className="primary" disabled={dryRun.busy}>
                {t('mapping.try')}
              </button>
            </form>
            <ErrorBox error={dryRun.error} />
            {dryRun.result ? (
              <>
                <h3>{t('mapping.output')}</h3>
                <Json value={dryRun.result.output} />
                <h3>{t('mapping.trace')}</h3>
                <Json value={dryRun.result.trace} />
                <h3>{t('mapping.input')}</h3>
                <Json value={dryRun.result.input} />
              </>
            ) : null}
          </Section>
        </div>
      ) : null}
    </div>
  );
}
