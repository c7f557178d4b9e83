import type { Transporter } from 'nodemailer';
import { createHttpClient } from '../../http/client.ts';
import type { HttpClient } from '../../http/types.ts';
import type { AlertsConfig, ChannelName, Notification } from './types.ts';

/** A place alerts go; send throws with a message for the alert history when it could not deliver. */
export interface Channel {
  name: ChannelName;
  send(notification: Notification): Promise<void>;
  close(): void;
}

function emailChannel(cfg: NonNullable<AlertsConfig['channels']['email']>): Channel {
  // nodemailer is loaded with the first e-mail: a hub without alerts by mail never carries it.
  let transport: Promise<Transporter> | undefined;
  const open = () =>
    import('nodemailer').then(({ default: nodemailer }) =>
      nodemailer.createTransport({
        host: cfg.host,
        port: cfg.port,
        secure: cfg.secure,
        ...(cfg.user ? { auth: { user: cfg.user, pass: cfg.password ?? '' } } : {}),
        connectionTimeout: 15_000,
        greetingTimeout: 15_000,
        socketTimeout: 30_000,
      }),
    );
  return {
    name: 'email',
    async send(n) {
      transport ??= open();
      await (await transport).sendMail({ from: cfg.from, to: cfg.to, subject: n.subject, text: n.text });
    },
    close: () => void transport?.then((t) => t.close()),
  };
}

function telegramChannel(
  cfg: NonNullable<AlertsConfig['channels']['telegram']>,
  fetchImpl?: typeof fetch,
): Channel {
  // The bot token is part of the URL: the client redacts it from every error and log line.
  const http: HttpClient = createHttpClient({
    system: 'alerts-telegram',
    secrets: [cfg.botToken],
    timeoutMs: 15_000,
    ...(fetchImpl ? { fetchImpl } : {}),
  });
  const base = cfg.baseUrl.replace(/\/+$/, '');
  return {
    name: 'telegram',
    async send(n) {
      await http.request({
        method: 'POST',
        url: `${base}/bot${cfg.botToken}/sendMessage`,
        endpoint: 'sendMessage',
        json: { chat_id: cfg.chatId, text: n.text, disable_web_page_preview: true },
        idempotent: false,
      });
    },
    close: () => {},
  };
}

function webhookChannel(
  cfg: NonNullable<AlertsConfig['channels']['webhook']>,
  fetchImpl?: typeof fetch,
): Channel {
  const http: HttpClient = createHttpClient({
    system: 'alerts-webhook',
    secrets: Object.values(cfg.headers ?? {}).filter((v) => v.length >= 4),
    timeoutMs: 15_000,
    ...(fetchImpl ? { fetchImpl } : {}),
  });
  return {
    name: 'webhook',
    async send(n) {
      const f = n.finding;
      await http.request({
        method: 'POST',
        url: cfg.url,
        endpoint: 'alert',
        ...(cfg.headers ? { headers: cfg.headers } : {}),
        json: {
          status: n.status,
          rule: f.rule,
          kind: f.kind,
          target: f.target,
          system: f.system,
          route: f.route,
          objects: f.objects,
          facts: f.facts,
          subject: n.subject,
          text: n.text,
          at: new Date(n.at).toISOString(),
        },
        idempotent: false,
      });
    },
    close: () => {},
  };
}

/** Channels configured in `alerts.channels`. */
export function createChannels(cfg: AlertsConfig, fetchImpl?: typeof fetch): Channel[] {
  const out: Channel[] = [];
  if (cfg.channels.email) out.push(emailChannel(cfg.channels.email));
  if (cfg.channels.telegram) out.push(telegramChannel(cfg.channels.telegram, fetchImpl));
  if (cfg.channels.webhook) out.push(webhookChannel(cfg.channels.webhook, fetchImpl));
  return out;
}
