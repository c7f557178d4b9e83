import type { ReactNode } from 'react';
import { ApiFailure } from '../api.ts';
import { useI18n } from '../i18n/index.tsx';

/** The server's own message (it says what to do); the code helps when reporting a problem. */
export function ErrorBox(props: { error: Error | undefined }) {
  const { t } = useI18n();
  if (!props.error) return null;
  const e = props.error;
  const forbidden = e instanceof ApiFailure && e.status === 403;
  return (
    <div className="error" role="alert">
      {forbidden ? `${t('error.forbidden')} ` : ''}
      {e.message}
      {e instanceof ApiFailure && e.status === 404 && e.code === 'not_found'
        ? ` — ${t('error.notAvailable')}`
        : ''}
    </div>
  );
}

export function Loading(props: { loading: boolean }) {
  const { t } = useI18n();
  return props.loading ? <span className="muted">{t('common.loading')}</span> : null;
}

const STATUS_CLASS: Record<string, string> = {
  ok: 'good',
  delivered: 'good',
  success: 'good',
  partial: 'warn',
  running: 'info',
  pending: 'info',
  waiting: 'warn',
  in_flight: 'info',
  failed: 'bad',
  error: 'bad',
  held: 'warn',
};

export function Status(props: { value: string | null | undefined }) {
  const { t } = useI18n();
  const value = props.value ?? '—';
  // Unknown states (a newer server) show as they are rather than disappear.
  const label = (t(`status.${value}` as Parameters<typeof t>[0]) as string | undefined) ?? value;
  return <span className={`badge ${STATUS_CLASS[value] ?? ''}`}>{label}</span>;
}

export function Section(props: { title: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <section className="card">
      <div className="card-head">
        <h2>{props.title}</h2>
        {props.actions ? <div className="actions">{props.actions}</div> : null}
      </div>
      {props.children}
    </section>
  );
}

export function Json(props: { value: unknown }) {
  const text = typeof props.value === 'string' ? props.value : JSON.stringify(props.value, null, 2);
  return <pre className="json">{text ?? ''}</pre>;
}

export function Empty(props: { when: boolean; children?: ReactNode }) {
  const { t } = useI18n();
  if (!props.when) return null;
  return <p className="muted">{props.children ?? t('common.empty')}</p>;
}

/** The outcome of an action the user just took (read out by screen readers). */
export function Notice(props: { text: string }) {
  if (!props.text) return null;
  return <output className="notice">{props.text}</output>;
}
