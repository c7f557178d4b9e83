import type { ObmenConfig } from '../../config/schema.ts';

export type AlertsConfig = ObmenConfig['alerts'];
export type AlertRule = AlertsConfig['rules'][number];
export type ChannelName = 'email' | 'telegram' | 'webhook';

/** A parked "hold" (a possible duplicate waiting for a person), as the holds table provides it. */
export interface HoldInfo {
  id: string | number;
  entity: string;
  recordId?: string | null;
  route?: string | null;
  system?: string | null;
  reason?: string | null;
}

/** One rule firing for one target: the unit of grouping, repeating and resolving. */
export interface Finding {
  rule: string;
  kind: AlertRule['kind'];
  /** Grouping key within the rule: a route, a system, a source. */
  target: string;
  system: string | null;
  route: string | null;
  /** Objects concerned, for people (record titles/ids), at most a few. */
  objects: string[];
  /** Numbers behind the alert, shown in the message. */
  facts: Record<string, number | string>;
}

/** One message to send: a finding that fires, is repeated, or has cleared. */
export interface Notification {
  status: 'firing' | 'repeat' | 'resolved';
  finding: Finding;
  subject: string;
  text: string;
  at: number;
}
