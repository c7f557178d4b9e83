import { useState } from 'react';
import { api } from '../api.ts';
import { ErrorBox, Json, Loading, Section } from '../components/ui.tsx';
import { useAction, useLoad } from '../hooks.ts';
import { useI18n } from '../i18n/index.tsx';
import { navigate } from '../router.ts';
import type { EffectiveField, EffectiveMapping, MappingTest, MappingView, Overview } from '../types.ts';

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
      {mapping.data?.effective ? <EffectiveTable effective={mapping.data.effective} /> : null}
      {mapping.data ? (
        <div className="grid2">
          <Section title={t('mapping.spec')}>
            {mapping.data.spec === null ? (
              <p className="muted">{t('mapping.noSpec')}</p>
            ) : (
              <Json value={mapping.data.spec} />
            )}
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

/** The effective field table: the connector's defaults and what the route's mapping changes. */
function EffectiveTable(props: { effective: EffectiveMapping }) {
  const { t } = useI18n();
  const e = props.effective;
  const row = (f: EffectiveField, i: number) => (
    <tr key={`${f.field}-${i}`} className={f.source === 'dropped' ? 'muted' : undefined}>
      <td>
        {f.source === 'mapping' ? '* ' : ''}
        <code>{f.field}</code>
        {f.key !== f.field ? <span className="muted"> ({f.key})</span> : null}
      </td>
      <td>{t(`mapping.source.${f.source}`)}</td>
      <td>
        <code>{f.rule}</code>
        {f.overrides !== undefined ? (
          <span className="muted small">
            {' '}
            ({t('mapping.insteadOf')}: {f.overrides})
          </span>
        ) : null}
      </td>
    </tr>
  );
  const head = (
    <thead>
      <tr>
        <th>{t('mapping.field')}</th>
        <th>{t('mapping.source')}</th>
        <th>{t('mapping.rule')}</th>
      </tr>
    </thead>
  );
  return (
    <Section title={t('mapping.effective')}>
      <p className="muted small">{t('mapping.effectiveHelp')}</p>
      <p>
        {e.entity} → {e.target} ({e.targetKind}), extends: {e.extends}
        <br />
        {t('mapping.filter')}: {e.filter === undefined ? t('mapping.noFilter') : <code>{e.filter}</code>}
        {e.filter !== undefined ? (
          <>
            <br />
            {t('mapping.exit')}: {t(e.exitDeactivates ? 'mapping.exit.deactivate' : 'mapping.exit.keep')}
          </>
        ) : null}
        <br />
        {t('mapping.deletion')}: {e.deletion}
      </p>
      {e.objects.map((object) => (
        <div key={object.object}>
          <h3>
            {object.object}
            {object.when ? <span className="muted small"> ({object.when})</span> : null}
          </h3>
          <table data-testid="mapping-effective">
            {head}
            <tbody>{object.fields.map(row)}</tbody>
          </table>
        </div>
      ))}
      {e.added.length > 0 ? (
        <>
          <h3>{t('mapping.added')}</h3>
          <table>
            {head}
            <tbody>{e.added.map(row)}</tbody>
          </table>
        </>
      ) : null}
      {e.notes.map((note) => (
        <p key={note} className="muted small">
          {note}
        </p>
      ))}
    </Section>
  );
}
