import type { Finding, Notification } from './types.ts';

type Lang = 'ru' | 'en';

/**
 * Alert texts. Russian by default: the people on call are mostly Russian-speaking support
 * staff. Each message says what is wrong, where (system, route, objects) and what to do.
 */
function describe(f: Finding, lang: Lang): { title: string; body: string; todo: string } {
  const x = f.facts;
  const ru = lang === 'ru';
  switch (f.kind) {
    case 'failures':
      return ru
        ? {
            title: `Маршрут ${f.route}: ${x.count} ${plural(Number(x.count), 'объект не доставлен', 'объекта не доставлены', 'объектов не доставлены')}`,
            body: `Последняя ошибка: ${x.error}`,
            todo: 'Откройте «Сбои» в панели obmen, устраните причину (данные в источнике или настройки системы) и нажмите «Повторить».',
          }
        : {
            title: `Route ${f.route}: ${x.count} object(s) not delivered`,
            body: `Last error: ${x.error}`,
            todo: 'Open Failures in the obmen dashboard, fix the cause (source data or system settings) and press Retry.',
          };
    case 'failure_rate':
      return ru
        ? {
            title: `Маршрут ${f.route}: ${x.percent}% доставок с ошибкой`,
            body: `${x.failed} из ${x.attempts} попыток за последнее время завершились ошибкой.`,
            todo: `Проверьте доступность системы ${f.system ?? ''} и журнал запросов в панели obmen.`,
          }
        : {
            title: `Route ${f.route}: ${x.percent}% of deliveries fail`,
            body: `${x.failed} of ${x.attempts} recent attempts failed.`,
            todo: `Check that ${f.system ?? 'the target'} is up and look at the request log in the dashboard.`,
          };
    case 'stuck':
      return ru
        ? {
            title: `Обмен ${x.name} не проходит ${x.minutes} мин`,
            body: x.lastSuccessAt
              ? `Последний успешный сеанс: ${x.lastSuccessAt}.`
              : 'Успешных сеансов ещё не было.',
            todo: 'Проверьте, что worker obmen запущен, и откройте «Сеансы» в панели: там видна ошибка последнего запуска.',
          }
        : {
            title: `Exchange ${x.name} has not succeeded for ${x.minutes} min`,
            body: x.lastSuccessAt
              ? `Last successful session: ${x.lastSuccessAt}.`
              : 'No session has succeeded yet.',
            todo: 'Check that the obmen worker runs and open Sessions in the dashboard for the last error.',
          };
    case 'system_down':
      return ru
        ? {
            title: `Система ${f.system} недоступна: ${x.percent}% запросов с ошибкой`,
            body: `${x.errors} из ${x.calls} запросов завершились ошибкой. Пример: ${x.error}`,
            todo: `Проверьте, что ${f.system} работает и доступна по сети, и не истекли ли учётные данные («Системы» → «Проверить подключение»).`,
          }
        : {
            title: `System ${f.system} is down: ${x.percent}% of requests fail`,
            body: `${x.errors} of ${x.calls} requests failed. Example: ${x.error}`,
            todo: `Check that ${f.system} runs and is reachable and its credentials are valid (Systems → Test connection).`,
          };
    case 'hold':
      return ru
        ? {
            title: `${x.count} ${plural(Number(x.count), 'объект ждёт', 'объекта ждут', 'объектов ждут')} решения оператора`,
            body: '',
            todo: 'Откройте «Отложенные» в панели obmen: для возможного дубля свяжите объект с существующим или создайте новый, для недостающего значения добавьте его в систему и нажмите «Повторить».',
          }
        : {
            title: `${x.count} object(s) wait for a decision`,
            body: '',
            todo: 'Open Holds in the dashboard: link a possible duplicate to an existing object or create it; add a missing value to the target system and retry.',
          };
  }
}

function plural(n: number, one: string, few: string, many: string): string {
  const mod10 = n % 10;
  const mod100 = n % 100;
  if (mod10 === 1 && mod100 !== 11) return one;
  if (mod10 >= 2 && mod10 <= 4 && (mod100 < 12 || mod100 > 14)) return few;
  return many;
}

export function composeNotification(
  status: Notification['status'],
  finding: Finding,
  lang: Lang,
  at: number,
  dashboardUrl?: string,
): Notification {
  const d = describe(finding, lang);
  const ru = lang === 'ru';
  const prefix =
    status === 'resolved'
      ? ru
        ? '✅ Решено'
        : '✅ Resolved'
      : status === 'repeat'
        ? ru
          ? '🔁 Всё ещё'
          : '🔁 Still'
        : '🔴';
  const lines = [
    `${prefix}: ${d.title}`,
    ...(finding.system ? [`${ru ? 'Система' : 'System'}: ${finding.system}`] : []),
    ...(finding.route ? [`${ru ? 'Маршрут' : 'Route'}: ${finding.route}`] : []),
    ...(finding.objects.length > 0 ? [`${ru ? 'Объекты' : 'Objects'}: ${finding.objects.join('; ')}`] : []),
    ...(status === 'resolved' ? [] : [d.body, `${ru ? 'Что делать' : 'What to do'}: ${d.todo}`]),
    ...(dashboardUrl ? [dashboardUrl] : []),
    `${ru ? 'Правило' : 'Rule'}: ${finding.rule}`,
  ].filter((line) => line !== '');
  return { status, finding, subject: `[obmen] ${prefix}: ${d.title}`, text: lines.join('\n'), at };
}
