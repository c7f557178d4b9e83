/** One handler registered by event.bind (an app) or set up as an outgoing webhook (the UI). */
export interface EventHandler {
  id: number;
  event: string;
  handler: string;
  client: string;
  applicationToken: string;
}

export interface EventFaults {
  /** 0..1: share of events silently dropped (Bitrix24 never retries an event). */
  dropRate: number;
}

/**
 * Sends an event as Bitrix24 does: POST application/x-www-form-urlencoded, only the id in
 * data[FIELDS][ID] (catalog product events add data[FIELDS][TYPE]), auth[application_token] for
 * verification, no retry on any failure.
 */
export async function deliverEvent(
  handler: EventHandler,
  event: string,
  id: number,
  portal: { domain: string; clientEndpoint: string; memberId: string; nowMs: number },
  fields: Record<string, string | number> = {},
): Promise<boolean> {
  const body = new URLSearchParams({
    event,
    event_handler_id: String(handler.id),
    'data[FIELDS][ID]': String(id),
    ...Object.fromEntries(Object.entries(fields).map(([k, v]) => [`data[FIELDS][${k}]`, String(v)])),
    ts: String(Math.floor(portal.nowMs / 1000)),
    'auth[domain]': portal.domain,
    'auth[client_endpoint]': portal.clientEndpoint,
    'auth[server_endpoint]': 'https://oauth.bitrix.info/rest/',
    'auth[member_id]': portal.memberId,
    'auth[application_token]': handler.applicationToken,
  });
  try {
    const res = await fetch(handler.handler, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
