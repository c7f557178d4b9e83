import { type Lang, useI18n } from '../i18n/index.tsx';

export function LanguageSwitch() {
  const { lang, setLang } = useI18n();
  return (
    <span className="lang">
      {(['ru', 'en'] as Lang[]).map((l) => (
        <button key={l} type="button" className={l === lang ? 'active' : ''} onClick={() => setLang(l)}>
          {l.toUpperCase()}
        </button>
      ))}
    </span>
  );
}
