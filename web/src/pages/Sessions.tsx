import { useState } from 'react';
import { api, query } from '../api.ts';
import { Link } from '../components/Link.tsx';
import { Empty, ErrorBox, Loading, Section, Status } from '../components/ui.tsx';
import { dayBounds, fmtDuration, fmtTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { useI18n } from '../i18n/index.tsx';
import type { Page, Session, SessionDetail } from '../types.ts';

function countsText(counts: Record<string, number> | null | undefined): string {
  return Object.entries(counts ?? {})
    .filter(([, n]) => n)
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
}

export function SessionsTable(props: { items: Session[] }) {
  const { t, locale } = useI18n();
  return (
    <>
      <table data-testid="sessions">
        <thead>
          <tr>
            <th>#</th>
            <th>{t('sessions.kind')}</th>
            <th>{t('sessions.name')}</th>
            <th>{t('common.system')}</th>
            <th>{t('common.status')}</th>
            <th>{t('sessions.started')}</th>
            <th className="num">{t('sessions.duration')}</th>
            <th>{t('sessions.counts')}</th>
          </tr>
        </thead>
        <tbody>
          {props.items.map((s) => (
            <tr key={s.id}>
              <td>
                <Link to={`/sessions/${encodeURIComponent(String(s.id))}`}>{s.id}</Link>
              </td>
              <td>{s.kind}</td>
              <td>{s.name}</td>
              <td>{s.system ?? '—'}</td>
              <td>
                <Status value={s.status} />
              </td>
              <td>{fmtTime(s.startedAt, locale)}</td>
              <td className="num">{fmtDuration(s.durationMs)}</td>
              <td className="small">
                {countsText(s.counts)}
                {s.error ? <div className="bad-text">{s.error}</div> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Empty when={props.items.length === 0} />
    </>
  );
}

const STATUSES = ['', 'running', 'ok', 'partial', 'failed'];

export function SessionsPage() {
  const { t } = useI18n();
  const [filters, setFilters] = useState({ kind: '', status: '', system: '', from: '', to: '' });
  const [pages, setPages] = useState<Session[][]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const list = useLoad(async () => {
    const page = await api.get<Page<Session>>(
      `/sessions${query({ ...filters, ...dayBounds(filters.from, filters.to), limit: 50 })}`,
    );
    setPages([page.items]);
    setCursor(page.nextCursor ?? null);
    return page;
  }, [filters.kind, filters.status, filters.system, filters.from, filters.to]);
  const more = async () => {
    if (!cursor) return;
    const page = await api.get<Page<Session>>(
      `/sessions${query({ ...filters, ...dayBounds(filters.from, filters.to), limit: 50, cursor })}`,
    );
    setPages((p) => [...p, page.items]);
    setCursor(page.nextCursor ?? null);
  };
  const set = (key: keyof typeof filters) => (event: { target: { value: string } }) =>
    setFilters((f) => ({ ...f, [key]: event.target.value }));

  return (
    <div className="page">
      <div className="page-head">
        <h1>{t('nav.sessions')}</h1>
        <Loading loading={list.loading} />
      </div>
      <div className="filters">
        <label>
          {t('sessions.kind')}
          <select value={filters.kind} onChange={set('kind')}>
            {['', 'pull', 'deliver', 'exchange', 'replay'].map((k) => (
              <option key={k} value={k}>
                {k || t('common.any')}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('common.status')}
          <select value={filters.status} onChange={set('status')}>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s ? t(`status.${s}` as 'status.ok') : t('common.any')}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('common.system')}
          <input value={filters.system} onChange={set('system')} />
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
      <SessionsTable items={pages.flat()} />
      {cursor ? (
        <button type="button" onClick={more}>
          {t('common.more')}
        </button>
      ) : null}
    </div>
  );
}

export function SessionDetailPage(props: { id: string }) {
  const { t, locale } = useI18n();
  const detail = useLoad(
    () => api.get<SessionDetail>(`/sessions/${encodeURIComponent(props.id)}`),
    [props.id],
  );
  const s = detail.data?.session;
  return (
    <div className="page">
      <div className="page-head">
        <h1>
          {t('sessions.session')} #{props.id}
        </h1>
        <Link to="/sessions">← {t('nav.sessions')}</Link>
        <Loading loading={detail.loading} />
      </div>
      <ErrorBox error={detail.error} />
      {s ? (
        <>
          <Section title={`${s.kind} · ${s.name}`}>
            <dl className="props">
              <dt>{t('common.status')}</dt>
              <dd>
                <Status value={s.status} />
              </dd>
              <dt>{t('common.system')}</dt>
              <dd>{s.system ?? '—'}</dd>
              <dt>{t('sessions.started')}</dt>
              <dd>{fmtTime(s.startedAt, locale)}</dd>
              <dt>{t('sessions.finished')}</dt>
              <dd>{fmtTime(s.finishedAt, locale)}</dd>
              <dt>{t('sessions.duration')}</dt>
              <dd>{fmtDuration(s.durationMs)}</dd>
              {s.error ? (
                <>
                  <dt>{t('common.error')}</dt>
                  <dd className="bad-text">{s.error}</dd>
                </>
              ) : null}
            </dl>
          </Section>
          <Section title={t('sessions.counts')}>
            <table>
              <tbody>
                {Object.entries(s.counts ?? {}).map(([k, n]) => (
                  <tr key={k}>
                    <td>{k}</td>
                    <td className="num">{n}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
          <Section title={t('sessions.errors')}>
            <table>
              <thead>
                <tr>
                  <th>{t('common.record')}</th>
                  <th>{t('common.externalId')}</th>
                  <th>{t('common.message')}</th>
                </tr>
              </thead>
              <tbody>
                {(detail.data?.errors ?? []).map((e, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: errors have no id of their own
                  <tr key={i}>
                    <td>{e.recordId ?? '—'}</td>
                    <td>{e.externalId ?? '—'}</td>
                    <td>{e.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <Empty when={(detail.data?.errors ?? []).length === 0}>{t('sessions.noErrors')}</Empty>
          </Section>
        </>
      ) : null}
    </div>
  );
}
