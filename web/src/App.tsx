import { type ReactNode, useEffect, useState } from 'react';
import { ApiFailure, api, setCsrfToken, setUnauthorizedHandler } from './api.ts';
import { Link } from './components/Link.tsx';
import { ErrorBox } from './components/ui.tsx';
import { type MessageKey, useI18n } from './i18n/index.tsx';
import { FailuresPage } from './pages/Failures.tsx';
import { FlowsPage } from './pages/Flows.tsx';
import { JourneyPage, SearchPage } from './pages/Journey.tsx';
import { LanguageSwitch } from './pages/LanguageSwitch.tsx';
import { LoginPage } from './pages/Login.tsx';
import { MappingPage } from './pages/Mapping.tsx';
import { OverviewPage } from './pages/Overview.tsx';
import { RequestDetailPage, RequestsPage } from './pages/Requests.tsx';
import { SessionDetailPage, SessionsPage } from './pages/Sessions.tsx';
import { SystemsPage } from './pages/Systems.tsx';
import { match, useLocation } from './router.ts';
import type { AuthInfo, User } from './types.ts';

const NAV: Array<{ to: string; label: MessageKey }> = [
  { to: '/', label: 'nav.overview' },
  { to: '/sessions', label: 'nav.sessions' },
  { to: '/failures', label: 'nav.failures' },
  { to: '/journey', label: 'nav.journey' },
  { to: '/requests', label: 'nav.requests' },
  { to: '/systems', label: 'nav.systems' },
  { to: '/flows', label: 'nav.flows' },
  { to: '/mapping', label: 'nav.mapping' },
];

type Params = Record<string, string>;

const PAGES: Array<[pattern: string, render: (params: Params, user: User) => ReactNode]> = [
  ['/', () => <OverviewPage />],
  ['/sessions', () => <SessionsPage />],
  ['/sessions/:id', (p) => <SessionDetailPage id={p.id!} />],
  ['/failures', () => <FailuresPage />],
  ['/journey', () => <SearchPage />],
  ['/journey/:entity/:id', (p) => <JourneyPage entity={p.entity!} id={p.id!} />],
  ['/requests', () => <RequestsPage />],
  ['/requests/:id', (p) => <RequestDetailPage id={p.id!} />],
  ['/systems', (_, user) => <SystemsPage role={user.role} />],
  ['/flows', () => <FlowsPage />],
  ['/mapping', () => <MappingPage route="" />],
  ['/mapping/:route', (p) => <MappingPage route={p.route!} />],
];

function page(path: string, user: User): ReactNode {
  for (const [pattern, render] of PAGES) {
    const params = match(pattern, path);
    if (params) return render(params, user);
  }
  return undefined;
}

function isActive(to: string, path: string): boolean {
  return to === '/' ? path === '/' : path === to || path.startsWith(`${to}/`);
}

export function App() {
  const { t } = useI18n();
  const location = useLocation();
  const [auth, setAuth] = useState<AuthInfo | null>();
  const [bootError, setBootError] = useState<Error>();

  useEffect(() => {
    setUnauthorizedHandler(() => setAuth(null));
    api.get<AuthInfo>('/auth/me').then(
      (me) => {
        setCsrfToken(me.csrfToken);
        setAuth(me);
      },
      (error: unknown) => {
        if (error instanceof ApiFailure && error.status === 401) setAuth(null);
        else setBootError(error as Error);
      },
    );
  }, []);

  if (bootError) {
    return (
      <div className="login">
        <div className="card">
          <h1>obmen</h1>
          <ErrorBox error={bootError} />
        </div>
      </div>
    );
  }
  if (auth === undefined) return <div className="login muted">{t('common.loading')}</div>;
  if (auth === null) {
    return (
      <LoginPage
        onLogin={(info) => {
          setCsrfToken(info.csrfToken);
          setAuth(info);
        }}
      />
    );
  }

  const logout = async () => {
    try {
      await api.post('/auth/logout');
    } finally {
      setCsrfToken('');
      setAuth(null);
    }
  };
  const content = page(location.path, auth.user);

  return (
    <div className="shell">
      <header className="top">
        <span className="brand">obmen</span>
        <nav>
          {NAV.map((item) => (
            <Link key={item.to} to={item.to} className={isActive(item.to, location.path) ? 'active' : ''}>
              {t(item.label)}
            </Link>
          ))}
        </nav>
        <div className="user">
          <LanguageSwitch />
          <span className="muted small" data-testid="user">
            {auth.user.login} · {t(`role.${auth.user.role}` as MessageKey)}
          </span>
          <button type="button" onClick={logout}>
            {t('login.logout')}
          </button>
        </div>
      </header>
      <main>
        {content ?? (
          <div className="page">
            <h1>{t('common.notFound')}</h1>
            <Link to="/">{t('nav.overview')}</Link>
          </div>
        )}
      </main>
    </div>
  );
}
