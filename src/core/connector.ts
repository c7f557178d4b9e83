import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { RouteConfig, SourceConfig, SystemConfig } from '../config/schema.ts';
import type { Runtime } from '../engine/runtime.ts';
import type { HttpClient } from '../http/types.ts';
import type { Store } from '../store/store.ts';
import type { Clock } from './clock.ts';
import type { ObmenError } from './errors.ts';

/** One object handed to a sink: the current canonical state, refs already in the target's ids. */
export interface DeliveryItem {
  recordId: string;
  entity: string;
  version: number;
  hash: string;
  /** Canonical data; reference fields hold the target system's external ids. */
  data: Record<string, unknown>;
  deleted: boolean;
  /** The id this object already has in the target, when it was delivered or matched before. */
  externalId: string | undefined;
  /**
   * Target-format fields computed by the route's mapping (e.g. `{ UF_CRM_COLOR: "red" }`):
   * the connector merges them over its own default conversion, field by field.
   */
  fields?: Record<string, unknown>;
}

/** The outcome of one item of a batch: a sink reports every item, never only the batch. */
export type ItemOutcome =
  | { recordId: string; ok: true; externalId: string }
  | { recordId: string; ok: false; error: ObmenError };

/** One object read from a source, in canonical form; reference fields hold the source's ids. */
export interface SourceItem {
  externalId: string;
  data: Record<string, unknown>;
  deleted?: boolean;
  /** When the source says the object changed (for last-writer-wins and reports). */
  sourceUpdatedAt?: number;
  /** The object as the source system gave it, for source mappings that read system fields. */
  raw?: unknown;
}

export interface SourceBatch {
  items: SourceItem[];
  /**
   * Objects of other entities the items refer to and that only arrive with them (an order's
   * buyer in a site's orders XML): ingested first, from the same system, so references resolve.
   */
  related?: Array<{ entity: string; items: SourceItem[] }>;
  /** Where to continue next time; saved only after the batch is ingested. */
  cursor?: string;
}

export interface ConnectorContext {
  systemName: string;
  system: SystemConfig;
  http: HttpClient;
  log: Logger;
  signal: AbortSignal;
  /** The hub store, for connector state that must survive restarts (OAuth tokens). */
  store?: Store;
  clock?: Clock;
}

export interface ReadRequest {
  source: SourceConfig;
  /** Cursor saved after the previous successful batch; undefined on a full read. */
  cursor: string | undefined;
  full: boolean;
}

/** What a connector can do for one configured system. Lifecycle: check → discover → read/write → close. */
export interface Connector {
  /** Tests the connection and credentials; throws an ObmenError (class config) with a human message. */
  check(): Promise<void>;
  /** Entities and fields the system exposes, for writing mappings. */
  discover?(): Promise<Array<{ name: string; fields: string[] }>>;
  read?(request: ReadRequest): AsyncIterable<SourceBatch>;
  write?(route: RouteConfig, items: DeliveryItem[]): Promise<ItemOutcome[]>;
  /**
   * True when the target fetches its own data (1C's `type=sale&mode=query` takes orders from
   * obmen): the worker never drains such routes; the connector's inbound endpoint claims and
   * completes the outbox rows itself.
   */
  passive?: boolean;
  /**
   * Whether the target's reference directory (colours, units, statuses) holds a value; route
   * mappings call it for fields with `directory` (`missing: hold|default|create`).
   */
  hasReferenceValue?(directory: string, value: string): Promise<boolean>;
  /** Creates a value in the target's directory (`missing: create`) and returns its id there. */
  ensureReferenceValue?(directory: string, value: string): Promise<string>;
  /**
   * Gets new credentials after the system refused the current ones as expired (an `auth_refresh`
   * error: an OAuth access token that expired or was revoked). The engine calls it once when a
   * write or a read fails so, then repeats that write or read once; the repeat does not count as
   * an attempt. Throw a `config` error (naming the setting to fix) when new credentials cannot be
   * had. Connectors whose credentials cannot be refreshed leave it out: an `auth_refresh` from
   * them parks the work as a config error. (Bitrix24 refreshes its OAuth token inside its own
   * client and needs no call from the engine.)
   */
  refreshAuth?(): Promise<void>;
  /** Adds the connector's inbound endpoints (webhooks, the CommerceML exchange) to the API server. */
  mountInbound?(app: FastifyInstance, hub: Runtime): void | Promise<void>;
  /** Releases resources; safe to call twice. */
  close(): Promise<void>;
}

export interface ConnectorFactory {
  kind: string;
  create(ctx: ConnectorContext): Connector;
}
