import { useState } from 'react';
import { api } from '../api.ts';
import { ErrorBox, Json, Section } from '../components/ui.tsx';
import { useAction, useLoad } from '../hooks.ts';
import { useI18n } from '../i18n/index.tsx';
import type { Overview } from '../types.ts';

/** Route and source names for the pickers; the overview already lists routes and recent pulls. */
function useNames() {
  const overview = useLoad(() => api.get<Overview>('/overview'), []);
  const routes = (overview.data?.queue ?? []).map((q) => q.route);
  const sources = [
    ...new Set((overview.data?.sessions ?? []).filter((s) => s.kind === 'pull').map((s) => s.name)),
  ];
  return { routes, sources, error: overview.error };
}

function RouteSelect(props: {
  routes: string[];
  value: string;
  onChange: (v: string) => void;
  name: string;
}) {
  const { t } = useI18n();
  return (
    <select name={props.name} value={props.value} onChange={(e) => props.onChange(e.target.value)}>
      <option value="">{t('flows.chooseRoute')}</option>
      {props.routes.map((r) => (
        <option key={r} value={r}>
          {r}
        </option>
      ))}
    </select>
  );
}

function Outcome(props: { result: unknown; error: Error | undefined }) {
  return (
    <>
      <ErrorBox error={props.error} />
      {props.result !== undefined ? <Json value={props.result} /> : null}
    </>
  );
}

const idList = (text: string) =>
  text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);

export function FlowsPage() {
  const { t } = useI18n();
  const names = useNames();
  const [source, setSource] = useState('');
  const [deliverRoute, setDeliverRoute] = useState('');
  const [resend, setResend] = useState({ entity: 'product', id: '', route: '' });
  const [replay, setReplay] = useState({ route: '', ids: '' });
  const pull = useAction(() => api.post<{ jobId: string }>(`/flows/pull/${encodeURIComponent(source)}`));
  const deliver = useAction(() =>
    api.post<{ delivered: number; failed: number }>(`/flows/deliver/${encodeURIComponent(deliverRoute)}`),
  );
  const resendOne = useAction(() =>
    api.post<{ queued: boolean }>(
      `/records/${encodeURIComponent(resend.entity)}/${encodeURIComponent(resend.id)}/resend`,
      { route: resend.route },
    ),
  );
  const replayRoute = useAction(() => {
    const ids = idList(replay.ids);
    return api.post<{ queued: number }>(
      `/routes/${encodeURIComponent(replay.route)}/replay`,
      ids.length ? { ids } : {},
    );
  });

  return (
    <div className="page">
      <div className="page-head">
        <h1>{t('nav.flows')}</h1>
      </div>
      <p className="muted">{t('flows.explain')}</p>
      <ErrorBox error={names.error} />
      <div className="grid2">
        <Section title={t('flows.pull')}>
          <p className="muted small">{t('flows.pullHelp')}</p>
          <div className="inline">
            <input
              name="source"
              list="flow-sources"
              placeholder={t('flows.source')}
              value={source}
              onChange={(e) => setSource(e.target.value)}
            />
            <datalist id="flow-sources">
              {names.sources.map((s) => (
                <option key={s} value={s} />
              ))}
            </datalist>
            <button type="button" disabled={!source || pull.busy} onClick={() => void pull.run()}>
              {t('flows.run')}
            </button>
          </div>
          <Outcome result={pull.result} error={pull.error} />
        </Section>
        <Section title={t('flows.deliver')}>
          <p className="muted small">{t('flows.deliverHelp')}</p>
          <div className="inline">
            <RouteSelect
              name="deliver-route"
              routes={names.routes}
              value={deliverRoute}
              onChange={setDeliverRoute}
            />
            <button type="button" disabled={!deliverRoute || deliver.busy} onClick={() => void deliver.run()}>
              {t('flows.run')}
            </button>
          </div>
          <Outcome result={deliver.result} error={deliver.error} />
        </Section>
        <Section title={t('flows.resend')}>
          <p className="muted small">{t('flows.resendHelp')}</p>
          <div className="inline">
            <input
              name="resend-entity"
              value={resend.entity}
              size={10}
              onChange={(e) => setResend((r) => ({ ...r, entity: e.target.value }))}
            />
            <input
              name="resend-id"
              placeholder={t('holds.recordId')}
              value={resend.id}
              onChange={(e) => setResend((r) => ({ ...r, id: e.target.value }))}
            />
            <RouteSelect
              name="resend-route"
              routes={names.routes}
              value={resend.route}
              onChange={(route) => setResend((r) => ({ ...r, route }))}
            />
            <button
              type="button"
              disabled={!resend.id || !resend.route || resendOne.busy}
              onClick={() => void resendOne.run()}
            >
              {t('flows.run')}
            </button>
          </div>
          <Outcome result={resendOne.result} error={resendOne.error} />
        </Section>
        <Section title={t('flows.replay')}>
          <p className="muted small">{t('flows.replayHelp')}</p>
          <div className="inline">
            <RouteSelect
              name="replay-route"
              routes={names.routes}
              value={replay.route}
              onChange={(route) => setReplay((r) => ({ ...r, route }))}
            />
            <input
              name="replay-ids"
              placeholder={t('flows.idsOptional')}
              value={replay.ids}
              onChange={(e) => setReplay((r) => ({ ...r, ids: e.target.value }))}
            />
            <button
              type="button"
              disabled={!replay.route || replayRoute.busy}
              onClick={() => void replayRoute.run()}
            >
              {t('flows.run')}
            </button>
          </div>
          <Outcome result={replayRoute.result} error={replayRoute.error} />
        </Section>
      </div>
    </div>
  );
}
