import { useMemo } from 'react';
import { api } from '../api.ts';
import { type ChartSeries, DailyChart } from '../components/Chart.tsx';
import { Link } from '../components/Link.tsx';
import { ErrorBox, Loading, Section } from '../components/ui.tsx';
import { dayToSeconds, fmtPercent, fmtTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { useI18n } from '../i18n/index.tsx';
import type { Overview as OverviewData, PerDay } from '../types.ts';
import { SessionsTable } from './Sessions.tsx';

/** One line per value of `by` (entity or system), one point per day, missing days as zero. */
function pivot(rows: PerDay[], by: 'entity' | 'system'): { days: number[]; series: ChartSeries[] } {
  const dayKeys = [...new Set(rows.map((r) => r.day))].sort();
  const names = [...new Set(rows.map((r) => r[by]))].sort();
  const series = names.map((name) => ({
    label: name,
    values: dayKeys.map((day) =>
      rows.filter((r) => r.day === day && r[by] === name).reduce((sum, r) => sum + r.count, 0),
    ),
  }));
  return { days: dayKeys.map(dayToSeconds), series };
}

export function OverviewPage() {
  const { t, locale } = useI18n();
  const overview = useLoad(() => api.get<OverviewData>('/overview'), []);
  const data = overview.data;
  const byEntity = useMemo(() => pivot(data?.perDay ?? [], 'entity'), [data]);
  const bySystem = useMemo(() => pivot(data?.perDay ?? [], 'system'), [data]);

  return (
    <div className="page">
      <div className="page-head">
        <h1>{t('nav.overview')}</h1>
        <button type="button" onClick={overview.reload}>
          {t('common.refresh')}
        </button>
        <Loading loading={overview.loading} />
      </div>
      <ErrorBox error={overview.error} />
      {data ? (
        <>
          <Section title={t('overview.systems')}>
            <table data-testid="systems-health">
              <thead>
                <tr>
                  <th>{t('common.system')}</th>
                  <th>{t('common.kind')}</th>
                  <th>{t('overview.lastSuccess')}</th>
                  <th>{t('overview.lastError')}</th>
                  <th className="num">{t('overview.errorRate')}</th>
                  <th className="num">{t('overview.calls1h')}</th>
                  <th>{t('overview.limiter')}</th>
                </tr>
              </thead>
              <tbody>
                {data.systems.map((s) => (
                  <tr key={s.name}>
                    <td>
                      <span
                        className={`dot ${s.errorRate > 0.2 ? 'bad' : s.errorRate > 0 ? 'warn' : 'good'}`}
                      />
                      {s.name}
                    </td>
                    <td>{s.kind}</td>
                    <td>{fmtTime(s.lastSuccessAt, locale)}</td>
                    <td>{fmtTime(s.lastErrorAt, locale)}</td>
                    <td className="num">{fmtPercent(s.errorRate)}</td>
                    <td className="num">{s.calls1h}</td>
                    <td>
                      {s.limiter.rate ?? t('overview.noLimit')}
                      {s.limiter.waitingMs ? ` · ${t('overview.waiting', { ms: s.limiter.waitingMs })}` : ''}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>

          <div className="grid2">
            <Section title={t('overview.perDayByEntity')}>
              {byEntity.days.length ? (
                <DailyChart
                  days={byEntity.days}
                  series={byEntity.series}
                  locale={locale}
                  testId="chart-entity"
                />
              ) : (
                <p className="muted">{t('overview.noStats')}</p>
              )}
            </Section>
            <Section title={t('overview.perDayBySystem')}>
              {bySystem.days.length ? (
                <DailyChart
                  days={bySystem.days}
                  series={bySystem.series}
                  locale={locale}
                  testId="chart-system"
                />
              ) : (
                <p className="muted">{t('overview.noStats')}</p>
              )}
            </Section>
          </div>

          <Section title={t('overview.queue')}>
            <table data-testid="queue">
              <thead>
                <tr>
                  <th>{t('common.route')}</th>
                  <th>{t('common.entity')}</th>
                  <th>{t('common.target')}</th>
                  <th className="num">{t('queue.pending')}</th>
                  <th className="num">{t('queue.waiting')}</th>
                  <th className="num">{t('queue.inFlight')}</th>
                  <th className="num">{t('queue.failed')}</th>
                  <th className="num">{t('queue.delivered24h')}</th>
                </tr>
              </thead>
              <tbody>
                {data.queue.map((q) => (
                  <tr key={q.route}>
                    <td className="nowrap">{q.route}</td>
                    <td>{q.entity ?? '—'}</td>
                    <td>{q.target ?? '—'}</td>
                    <td className="num">{q.pending}</td>
                    <td className="num">{q.waiting}</td>
                    <td className="num">{q.inFlight}</td>
                    <td className="num">
                      {q.failed ? (
                        <Link to={`/failures?route=${encodeURIComponent(q.route)}`} className="bad-text">
                          {q.failed}
                        </Link>
                      ) : (
                        0
                      )}
                    </td>
                    <td className="num">{q.delivered24h}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
          <div className="narrow">
            <Section title={t('overview.successRate')}>
              <table data-testid="success-rate">
                <thead>
                  <tr>
                    <th>{t('common.entity')}</th>
                    <th className="num">{t('overview.delivered')}</th>
                    <th className="num">{t('overview.failed')}</th>
                    <th>{t('overview.rate')}</th>
                  </tr>
                </thead>
                <tbody>
                  {data.successRate.map((r) => (
                    <tr key={r.entity}>
                      <td>{r.entity}</td>
                      <td className="num">{r.delivered}</td>
                      <td className="num">{r.failed}</td>
                      <td>
                        <div className="bar">
                          <div className="bar-fill" style={{ width: `${Math.round(r.rate * 100)}%` }} />
                          <span>{fmtPercent(r.rate)}</span>
                        </div>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Section>
          </div>
          <Section
            title={t('overview.lastSessions')}
            actions={<Link to="/sessions">{t('overview.allSessions')}</Link>}
          >
            <SessionsTable items={data.sessions} />
          </Section>
        </>
      ) : null}
    </div>
  );
}
