import { createContext, type ReactNode, useContext, useEffect, useMemo, useState } from 'react';
import { en } from './en.ts';
import { ru } from './ru.ts';

export type Lang = 'ru' | 'en';
export type MessageKey = keyof typeof ru;
export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

const DICTIONARIES: Record<Lang, Record<MessageKey, string>> = { ru, en };
const STORAGE_KEY = 'obmen.lang';

interface I18n {
  lang: Lang;
  locale: string;
  t: Translate;
  setLang: (lang: Lang) => void;
}

const I18nContext = createContext<I18n | undefined>(undefined);

function initialLang(): Lang {
  // Russian by default: the people running exchanges with 1C mostly read Russian.
  return window.localStorage.getItem(STORAGE_KEY) === 'en' ? 'en' : 'ru';
}

export function I18nProvider(props: { children: ReactNode }) {
  const [lang, setLang] = useState<Lang>(initialLang);
  useEffect(() => {
    window.localStorage.setItem(STORAGE_KEY, lang);
    document.documentElement.lang = lang;
  }, [lang]);
  const value = useMemo<I18n>(() => {
    const dict = DICTIONARIES[lang];
    const t: Translate = (key, params) => {
      let text = dict[key];
      if (params)
        for (const [name, v] of Object.entries(params)) text = text.replaceAll(`{${name}}`, String(v));
      return text;
    };
    return { lang, locale: lang === 'ru' ? 'ru-RU' : 'en-GB', t, setLang };
  }, [lang]);
  return <I18nContext.Provider value={value}>{props.children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const value = useContext(I18nContext);
  if (!value) throw new Error('useI18n outside I18nProvider');
  return value;
}
