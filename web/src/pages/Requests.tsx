import { useState } from 'react';
import { api, query } from '../api.ts';
import { Link } from '../components/Link.tsx';
import { Empty, ErrorBox, Loading, Section } from '../components/ui.tsx';
import { dayBounds, fmtDuration, fmtTime, prettyBody } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { useI18n } from '../i18n/index.tsx';
import type { Page, RequestDetail, RequestItem } from '../types.ts';

export function RequestsPage() {
  const { t, locale } = useI18n();
  const [filters, setFilters] = useState({ system: '', endpoint: '', status: '', from: '', to: '' });
  const [rows, setRows] = useState<RequestItem[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const list = useLoad(async () => {
    const page = await api.get<Page<RequestItem>>(
      `/requests${query({ ...filters, ...dayBounds(filters.from, filters.to), limit: 100 })}`,
    );
    setRows(page.items);
    setCursor(page.nextCursor ?? null);
    return page;
  }, [filters.system, filters.endpoint, filters.status, filters.from, filters.to]);
  const more = async () => {
    if (!cursor) return;
    const page = await api.get<Page<RequestItem>>(
      `/requests${query({ ...filters, ...dayBounds(filters.from, filters.to), limit: 100, cursor })}`,
    );
    setRows((r) => [...r, ...page.items]);
    setCursor(page.nextCursor ?? null);
  };
  const set = (key: keyof typeof filters) => (event: { target: { value: string } }) =>
    setFilters((f) => ({ ...f, [key]: event.target.value }));

  return (
    <div className="page">
      <div className="page-head">
        <h1>{t('nav.requests')}</h1>
        <Loading loading={list.loading} />
      </div>
      <div className="filters">
        <label>
          {t('common.system')}
          <input value={filters.system} onChange={set('system')} />
        </label>
        <label>
          {t('requests.endpoint')}
          <input value={filters.endpoint} onChange={set('endpoint')} />
        </label>
        <label>
          {t('common.status')}
          <select value={filters.status} onChange={set('status')}>
            <option value="">{t('common.any')}</option>
            <option value="2xx">2xx</option>
            <option value="4xx">4xx</option>
            <option value="5xx">5xx</option>
            <option value="error">{t('requests.networkError')}</option>
          </select>
        </label>
        <label>
          {t('common.from')}
          <input type="date" value={filters.from} onChange={set('from')} />
        </label>
        <label>
          {t('common.to')}
          <input type="date" value={filters.to} onChange={set('to')} />
        </label>
      </div>
      <ErrorBox error={list.error} />
      <table data-testid="requests">
        <thead>
          <tr>
            <th>{t('common.time')}</th>
            <th>{t('common.system')}</th>
            <th>{t('requests.endpoint')}</th>
            <th className="num">{t('common.status')}</th>
            <th className="num">{t('sessions.duration')}</th>
            <th>{t('common.error')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id}>
              <td>
                <Link to={`/requests/${encodeURIComponent(String(r.id))}`}>{fmtTime(r.at, locale)}</Link>
              </td>
              <td>{r.system}</td>
              <td className="mono" title={r.url}>
                {r.method} {r.endpoint}
              </td>
              <td className={`num ${!r.status || r.status >= 400 ? 'bad-text' : ''}`}>{r.status ?? '—'}</td>
              <td className="num">{fmtDuration(r.durationMs)}</td>
              <td className="small bad-text">{r.error ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Empty when={!list.loading && rows.length === 0} />
      {cursor ? (
        <button type="button" onClick={more}>
          {t('common.more')}
        </button>
      ) : null}
    </div>
  );
}

export function RequestDetailPage(props: { id: string }) {
  const { t, locale } = useI18n();
  const detail = useLoad(
    () => api.get<RequestDetail>(`/requests/${encodeURIComponent(props.id)}`),
    [props.id],
  );
  const r = detail.data;
  return (
    <div className="page">
      <div className="page-head">
        <h1>
          {t('requests.request')} #{props.id}
        </h1>
        <Link to="/requests">← {t('nav.requests')}</Link>
        <Loading loading={detail.loading} />
      </div>
      <ErrorBox error={detail.error} />
      {r ? (
        <>
          <Section title={`${r.method} ${r.url}`}>
            <dl className="props">
              <dt>{t('common.time')}</dt>
              <dd>{fmtTime(r.at, locale)}</dd>
              <dt>{t('common.system')}</dt>
              <dd>{r.system}</dd>
              <dt>{t('common.status')}</dt>
              <dd>{r.status ?? '—'}</dd>
              <dt>{t('sessions.duration')}</dt>
              <dd>{fmtDuration(r.durationMs)}</dd>
              {r.error ? (
                <>
                  <dt>{t('common.error')}</dt>
                  <dd className="bad-text">{r.error}</dd>
                </>
              ) : null}
            </dl>
            <p className="muted small">{t('requests.redacted')}</p>
          </Section>
          <div className="grid2">
            <Section title={t('requests.requestPart')}>
              <pre className="json">{prettyBody(r.requestHeaders)}</pre>
              <pre className="json" data-testid="request-body">
                {prettyBody(r.requestBody)}
              </pre>
            </Section>
            <Section title={t('requests.responsePart')}>
              <pre className="json">{prettyBody(r.responseHeaders)}</pre>
              <pre className="json" data-testid="response-body">
                {prettyBody(r.responseBody)}
              </pre>
            </Section>
          </div>
        </>
      ) : null}
    </div>
  );
}
