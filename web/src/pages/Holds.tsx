import { useState } from 'react';
import { api } from '../api.ts';
import { Link } from '../components/Link.tsx';
import { Empty, ErrorBox, Section } from '../components/ui.tsx';
import { fmtTime } from '../format.ts';
import { useAction, useLoad } from '../hooks.ts';
import { type MessageKey, useI18n } from '../i18n/index.tsx';
import type { Hold } from '../types.ts';

type Decision = { link: string } | { create: true } | { retry: true };

function HoldRow(props: { hold: Hold; onResolved: () => void }) {
  const { t, locale } = useI18n();
  const h = props.hold;
  const [linkTo, setLinkTo] = useState('');
  const resolve = useAction((body: Decision) =>
    api.post(`/holds/${encodeURIComponent(String(h.id))}/resolve`, body),
  );
  const decide = async (body: Decision) => {
    if ((await resolve.run(body)) !== undefined) props.onResolved();
  };
  const duplicate = h.kind === 'possible_duplicate';
  const kindLabel = (t(`holds.kind.${h.kind}` as MessageKey) as string | undefined) ?? h.kind;
  return (
    <tr data-hold={h.id}>
      <td className="num">{h.id}</td>
      <td>
        <span className="badge warn">{kindLabel}</span>
        <div className="small muted">
          {h.entity}
          {h.system ? ` · ${h.system} ${h.externalId ?? ''}` : ''}
          {h.route ? ` · ${h.route}` : ''}
        </div>
      </td>
      <td className="small">
        {h.message}
        {h.recordId ? (
          <div>
            <Link to={`/journey/${encodeURIComponent(h.entity)}/${encodeURIComponent(h.recordId)}`}>
              {h.recordId}
            </Link>
          </div>
        ) : null}
      </td>
      <td>{fmtTime(h.createdAt, locale)}</td>
      <td>
        <div className="inline">
          {duplicate ? (
            <>
              {h.candidates.map((c) => (
                <button
                  key={c.recordId}
                  type="button"
                  disabled={resolve.busy}
                  title={`${c.recordId} (${c.rule} ${c.key})`}
                  onClick={() => decide({ link: c.recordId })}
                >
                  {t('holds.linkTo', { id: c.name ?? c.recordId })}
                </button>
              ))}
              <input
                placeholder={t('holds.recordId')}
                value={linkTo}
                onChange={(e) => setLinkTo(e.target.value)}
                size={12}
              />
              <button
                type="button"
                disabled={!linkTo || resolve.busy}
                onClick={() => decide({ link: linkTo })}
              >
                {t('holds.link')}
              </button>
              <button type="button" disabled={resolve.busy} onClick={() => decide({ create: true })}>
                {t('holds.create')}
              </button>
            </>
          ) : (
            <button type="button" disabled={resolve.busy} onClick={() => decide({ retry: true })}>
              {t('holds.retry')}
            </button>
          )}
        </div>
        <ErrorBox error={resolve.error} />
      </td>
    </tr>
  );
}

/** Open holds: possible duplicates (link or create) and missing reference values (retry once added). */
export function HoldsSection() {
  const { t } = useI18n();
  const holds = useLoad(() => api.get<{ items: Hold[] }>('/holds'), []);
  const items = holds.data?.items ?? [];
  return (
    <Section title={t('holds.title')}>
      <p className="muted small">{t('holds.explain')}</p>
      <ErrorBox error={holds.error} />
      <table data-testid="holds">
        <thead>
          <tr>
            <th className="num">#</th>
            <th>{t('holds.kind')}</th>
            <th>{t('common.message')}</th>
            <th>{t('common.time')}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {items.map((h) => (
            <HoldRow key={h.id} hold={h} onResolved={holds.reload} />
          ))}
        </tbody>
      </table>
      <Empty when={!holds.loading && !holds.error && items.length === 0}>{t('holds.none')}</Empty>
    </Section>
  );
}
