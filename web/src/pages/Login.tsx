import { type FormEvent, useState } from 'react';
import { api } from '../api.ts';
import { ErrorBox } from '../components/ui.tsx';
import { useI18n } from '../i18n/index.tsx';
import type { AuthInfo } from '../types.ts';
import { LanguageSwitch } from './LanguageSwitch.tsx';

export function LoginPage(props: { onLogin: (auth: AuthInfo) => void }) {
  const { t } = useI18n();
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      props.onLogin(await api.post<AuthInfo>('/auth/login', { login, password }));
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="login">
      <form className="card form" onSubmit={submit}>
        <div className="card-head">
          <h1>obmen</h1>
          <LanguageSwitch />
        </div>
        <p className="muted">{t('login.subtitle')}</p>
        <label>
          {t('login.login')}
          <input
            name="login"
            autoComplete="username"
            value={login}
            onChange={(e) => setLogin(e.target.value)}
          />
        </label>
        <label>
          {t('login.password')}
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <button type="submit" className="primary" disabled={busy || !login || !password}>
          {t('login.submit')}
        </button>
        <ErrorBox error={error} />
      </form>
    </div>
  );
}
