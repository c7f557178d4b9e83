import { useState } from 'react';
import { api, query } from '../api.ts';
import { Link } from '../components/Link.tsx';
import { Empty, ErrorBox, Loading, Notice, Section } from '../components/ui.tsx';
import { fmtTime } from '../format.ts';
import { useAction, useLoad } from '../hooks.ts';
import { useI18n } from '../i18n/index.tsx';
import { navigate, useLocation } from '../router.ts';
import type { Failure, FailureGroup } from '../types.ts';
import { HoldsSection } from './Holds.tsx';

interface RetryBody {
  route: string;
  ids?: string[];
  all?: boolean;
  errorClass?: string;
}

export function FailuresPage() {
  const { t, locale } = useI18n();
  const { params } = useLocation();
  const route = params.get('route') ?? '';
  const errorClass = params.get('errorClass') ?? '';
  const groups = useLoad(() => api.get<{ groups: FailureGroup[] }>('/failures/groups'), []);
  const list = useLoad(
    () => api.get<{ items: Failure[] }>(`/failures${query({ route, errorClass })}`),
    [route, errorClass],
  );
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [notice, setNotice] = useState('');
  const retry = useAction((body: RetryBody) => api.post<{ retried: number }>('/failures/retry', body));

  const keyOf = (f: Failure) => `${f.route}\u0000${f.recordId}`;
  const items = list.data?.items ?? [];
  const chosen = items.filter((f) => selected.has(keyOf(f)));

  const afterRetry = (result: { retried: number } | undefined) => {
    if (!result) return;
    setNotice(t('failures.retried', { n: result.retried }));
    setSelected(new Set());
    groups.reload();
    list.reload();
  };
  const retryOne = async (f: Failure) => afterRetry(await retry.run({ route: f.route, ids: [f.recordId] }));
  const retrySelected = async () => {
    // One call per route: the API retries within one route.
    const byRoute = new Map<string, string[]>();
    for (const f of chosen) byRoute.set(f.route, [...(byRoute.get(f.route) ?? []), f.recordId]);
    let total = 0;
    for (const [r, ids] of byRoute) total += (await retry.run({ route: r, ids }))?.retried ?? 0;
    afterRetry({ retried: total });
  };
  const retryGroup = async (g: FailureGroup) =>
    afterRetry(await retry.run({ route: g.route, all: true, errorClass: g.errorClass }));
  const filter = (r: string, c: string) => navigate(`/failures${query({ route: r, errorClass: c })}`);
  const toggle = (f: Failure) =>
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(keyOf(f))) next.delete(keyOf(f));
      else next.add(keyOf(f));
      return next;
    });

  return (
    <div className="page">
      <div className="page-head">
        <h1>{t('nav.failures')}</h1>
        <Loading loading={list.loading || groups.loading} />
      </div>
      <Notice text={notice} />
      <ErrorBox error={retry.error} />
      <Section title={t('failures.groups')}>
        <ErrorBox error={groups.error} />
        <table data-testid="failure-groups">
          <thead>
            <tr>
              <th>{t('common.route')}</th>
              <th>{t('failures.errorClass')}</th>
              <th className="num">{t('failures.count')}</th>
              <th>{t('failures.sample')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(groups.data?.groups ?? []).map((g) => (
              <tr
                key={`${g.route}/${g.errorClass}`}
                className={g.route === route && g.errorClass === errorClass ? 'selected' : ''}
              >
                <td>
                  <button
                    type="button"
                    className="linklike nowrap"
                    onClick={() => filter(g.route, g.errorClass)}
                  >
                    {g.route}
                  </button>
                </td>
                <td>
                  <span className="badge bad">
                    {t(`errorClass.${g.errorClass}` as 'errorClass.permanent')}
                  </span>
                </td>
                <td className="num">{g.count}</td>
                <td className="small">{g.sample}</td>
                <td>
                  <button type="button" disabled={retry.busy} onClick={() => retryGroup(g)}>
                    {t('failures.retryGroup')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <Empty when={!groups.loading && (groups.data?.groups ?? []).length === 0}>{t('failures.none')}</Empty>
      </Section>

      <Section
        title={t('failures.list')}
        actions={
          <>
            {route || errorClass ? (
              <button type="button" onClick={() => filter('', '')}>
                {t('common.clearFilter')}
              </button>
            ) : null}
            <button type="button" disabled={chosen.length === 0 || retry.busy} onClick={retrySelected}>
              {t('failures.retrySelected', { n: chosen.length })}
            </button>
          </>
        }
      >
        {route || errorClass ? (
          <p className="muted">
            {t('common.route')}: {route || t('common.any')} · {t('failures.errorClass')}:{' '}
            {errorClass || t('common.any')}
          </p>
        ) : null}
        <ErrorBox error={list.error} />
        <table data-testid="failures">
          <thead>
            <tr>
              <th>
                <input
                  type="checkbox"
                  aria-label={t('failures.selectAll')}
                  checked={items.length > 0 && chosen.length === items.length}
                  onChange={(e) => setSelected(e.target.checked ? new Set(items.map(keyOf)) : new Set())}
                />
              </th>
              <th>{t('common.object')}</th>
              <th>{t('common.route')}</th>
              <th>{t('failures.errorClass')}</th>
              <th>{t('common.message')}</th>
              <th className="num">{t('failures.attempts')}</th>
              <th>{t('failures.lastAttempt')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((f) => (
              <tr key={keyOf(f)} data-record={f.recordId}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={f.recordId}
                    checked={selected.has(keyOf(f))}
                    onChange={() => toggle(f)}
                  />
                </td>
                <td>
                  <Link to={`/journey/${encodeURIComponent(f.entity)}/${encodeURIComponent(f.recordId)}`}>
                    {f.title || f.recordId}
                  </Link>
                  <div className="small muted">
                    {f.entity} · {f.recordId}
                  </div>
                </td>
                <td className="nowrap">{f.route}</td>
                <td>
                  <span className="badge bad">
                    {t(`errorClass.${f.errorClass}` as 'errorClass.permanent')}
                  </span>
                </td>
                <td className="small">{f.error}</td>
                <td className="num">{f.attempts}</td>
                <td>{fmtTime(f.lastAttemptAt, locale)}</td>
                <td>
                  <button type="button" disabled={retry.busy} onClick={() => retryOne(f)}>
                    {t('failures.retry')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <Empty when={!list.loading && items.length === 0}>{t('failures.none')}</Empty>
      </Section>

      <HoldsSection />
    </div>
  );
}
