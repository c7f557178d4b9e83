import { type FormEvent, useState } from 'react';
import { api, query } from '../api.ts';
import { Link } from '../components/Link.tsx';
import { Empty, ErrorBox, Json, Loading, Notice, Section, Status } from '../components/ui.tsx';
import { fmtDuration, fmtTime, fmtValue } from '../format.ts';
import { useAction, useLoad } from '../hooks.ts';
import { useI18n } from '../i18n/index.tsx';
import { navigate, useLocation } from '../router.ts';
import type { Journey, SearchHit } from '../types.ts';

const journeyPath = (entity: string, id: string) =>
  `/journey/${encodeURIComponent(entity)}/${encodeURIComponent(id)}`;

export function SearchPage() {
  const { t } = useI18n();
  const { params } = useLocation();
  const q = params.get('q') ?? '';
  const [text, setText] = useState(q);
  const hits = useLoad(
    async () => (q ? api.get<{ items: SearchHit[] }>(`/search${query({ q })}`) : { items: [] }),
    [q],
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    navigate(`/journey${query({ q: text.trim() })}`);
  };
  const items = hits.data?.items ?? [];
  return (
    <div className="page">
      <div className="page-head">
        <h1>{t('nav.journey')}</h1>
      </div>
      <form className="search" onSubmit={submit}>
        <input
          type="search"
          value={text}
          placeholder={t('journey.searchPlaceholder')}
          onChange={(e) => setText(e.target.value)}
          aria-label={t('journey.search')}
        />
        <button type="submit">{t('journey.search')}</button>
        <Loading loading={hits.loading && Boolean(q)} />
      </form>
      <ErrorBox error={hits.error} />
      {q ? (
        <table data-testid="search-results">
          <thead>
            <tr>
              <th>{t('common.object')}</th>
              <th>{t('common.entity')}</th>
              <th>{t('journey.matchedBy')}</th>
              <th>{t('common.system')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((hit) => (
              <tr key={`${hit.entity}/${hit.id}`}>
                <td>
                  <Link to={journeyPath(hit.entity, hit.id)}>{hit.title || hit.id}</Link>
                  <div className="small muted">{hit.id}</div>
                </td>
                <td>{hit.entity}</td>
                <td>{t(`journey.by.${hit.matchedBy}` as 'journey.by.name')}</td>
                <td>{hit.system ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <Empty when={Boolean(q) && !hits.loading && !hits.error && items.length === 0}>
        {t('journey.nothingFound')}
      </Empty>
    </div>
  );
}

function Diff(props: { diff: Journey['versions'][number]['diff'] }) {
  const { t } = useI18n();
  if (!props.diff.length) return <span className="muted small">{t('journey.noChanges')}</span>;
  return (
    <table className="diff">
      <tbody>
        {props.diff.map((d) => (
          <tr key={d.path}>
            <td className="mono">{d.path}</td>
            <td className={d.before === null || d.before === undefined ? 'muted' : 'before'}>
              {d.before === null || d.before === undefined ? '—' : fmtValue(d.before)}
            </td>
            <td className="after">{fmtValue(d.after)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function JourneyPage(props: { entity: string; id: string }) {
  const { t, locale } = useI18n();
  const path = `/records/${encodeURIComponent(props.entity)}/${encodeURIComponent(props.id)}`;
  const journey = useLoad(() => api.get<Journey>(`${path}/journey`), [path]);
  const resend = useAction((route: string) => api.post<{ queued: boolean }>(`${path}/resend`, { route }));
  const [notice, setNotice] = useState('');
  const [open, setOpen] = useState<number | undefined>();
  const j = journey.data;
  const data = (j?.record.data ?? {}) as Record<string, unknown>;
  const title = String(data['name'] ?? data['title'] ?? props.id);

  return (
    <div className="page">
      <div className="page-head">
        <h1>{title}</h1>
        <span className="muted">
          {props.entity} · {props.id}
        </span>
        <Link to="/journey">← {t('journey.search')}</Link>
        <Loading loading={journey.loading} />
      </div>
      <ErrorBox error={journey.error} />
      <Notice text={notice} />
      <ErrorBox error={resend.error} />
      {j ? (
        <>
          <div className="grid2">
            <Section title={t('journey.links')}>
              <table data-testid="journey-links">
                <thead>
                  <tr>
                    <th>{t('common.system')}</th>
                    <th>{t('common.externalId')}</th>
                  </tr>
                </thead>
                <tbody>
                  {j.links.map((l) => (
                    <tr key={`${l.system}/${l.externalId}`}>
                      <td>{l.system}</td>
                      <td className="mono">{l.externalId}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Empty when={j.links.length === 0} />
            </Section>
            <Section title={t('journey.deliveries')}>
              <table data-testid="journey-deliveries">
                <thead>
                  <tr>
                    <th>{t('common.route')}</th>
                    <th>{t('common.status')}</th>
                    <th className="num">{t('failures.attempts')}</th>
                    <th className="num">{t('journey.deliveredVersion')}</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {j.deliveries.map((d) => (
                    <tr key={d.route}>
                      <td className="nowrap">{d.route}</td>
                      <td>
                        <Status value={d.state} />
                        {d.lastError ? <div className="small bad-text">{d.lastError}</div> : null}
                      </td>
                      <td className="num">{d.attempts}</td>
                      <td className="num">{d.deliveredVersion ?? '—'}</td>
                      <td>
                        <button
                          type="button"
                          disabled={resend.busy}
                          onClick={async () => {
                            const r = await resend.run(d.route);
                            if (r) {
                              setNotice(t('journey.resendQueued', { route: d.route }));
                              journey.reload();
                            }
                          }}
                        >
                          {t('journey.resend')}
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Empty when={j.deliveries.length === 0} />
            </Section>
          </div>
          <Section title={t('journey.versions')}>
            <table data-testid="journey-versions">
              <thead>
                <tr>
                  <th>{t('journey.version')}</th>
                  <th>{t('common.time')}</th>
                  <th>{t('journey.changes')}</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {[...j.versions]
                  .sort((a, b) => b.version - a.version)
                  .map((v) => (
                    <tr key={v.version}>
                      <td className="num">{v.version}</td>
                      <td>{fmtTime(v.createdAt, locale)}</td>
                      <td>
                        <Diff diff={v.diff ?? []} />
                        {open === v.version ? <Json value={v.data} /> : null}
                      </td>
                      <td>
                        <button
                          type="button"
                          onClick={() => setOpen(open === v.version ? undefined : v.version)}
                        >
                          {open === v.version ? t('common.hide') : t('journey.showData')}
                        </button>
                      </td>
                    </tr>
                  ))}
              </tbody>
            </table>
          </Section>
          <Section title={t('journey.requests')}>
            <table data-testid="journey-requests">
              <thead>
                <tr>
                  <th>{t('common.time')}</th>
                  <th>{t('common.system')}</th>
                  <th>{t('requests.endpoint')}</th>
                  <th className="num">{t('common.status')}</th>
                  <th className="num">{t('sessions.duration')}</th>
                </tr>
              </thead>
              <tbody>
                {j.requests.map((r) => (
                  <tr key={r.id}>
                    <td>
                      <Link to={`/requests/${encodeURIComponent(String(r.id))}`}>
                        {fmtTime(r.at, locale)}
                      </Link>
                    </td>
                    <td>{r.system}</td>
                    <td className="mono">
                      {r.method} {r.endpoint}
                    </td>
                    <td className={`num ${r.status && r.status >= 400 ? 'bad-text' : ''}`}>
                      {r.status ?? '—'}
                    </td>
                    <td className="num">{fmtDuration(r.durationMs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <Empty when={j.requests.length === 0} />
          </Section>
        </>
      ) : null}
    </div>
  );
}
