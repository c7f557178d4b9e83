import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { LimitsConfig, RouteConfig, SourceConfig, SystemConfig } from '../config/schema.ts';
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
  /**
   * Canonical fields the target system owns (`ownership:`): an update leaves them out, so a value
   * the target changed while this write was under way is not overwritten. A create sends them.
   */
  ownedFields?: readonly string[];
  /**
   * The route's mapping says `extends: none`: the connector writes only `fields`, plus the
   * fields it cannot do without (DefaultField.required), not its default conversion.
   */
  withoutDefaults?: boolean;
}

/** One target field of a connector's default conversion (canonical → target). */
export interface DefaultField {
  /** The field as the target names it (`NAME`, `iblockSectionId`, CommerceML `Наименование`). */
  field: string;
  /** The name a route mapping's `fields` entry overrides it by, when it differs from `field`. */
  key?: string;
  /** Canonical paths the value is computed from; empty for constants, options and obmen's ids. */
  from: string[];
  /** How the value is made, for people. */
  rule: string;
  /**
   * Kept with `extends: none`: obmen finds the object in the target again by it, writes
   * deletions (and filter exits) with it, or a mapping cannot replace it.
   */
  required?: boolean;
}

/** What a connector writes for one entity when no mapping says otherwise. */
export interface TargetDefaults {
  /** The target object(s) the entity becomes, each with its default field table. */
  objects: Array<{ object: string; when?: string; fields: DefaultField[] }>;
  /** How a deletion (or a record leaving a route's filter) is written, or why it cannot be. */
  deletion: string;
  /** Whether the target can take a deletion of this entity, so a filter exit deactivates it there. */
  deactivates: boolean;
  /** true when the connector honours `extends: none` for this entity; otherwise why it cannot. */
  withoutDefaults: true | string;
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
  /**
   * The limits the system itself enforces when the user set no `limits.rate` (Bitrix24: 2
   * requests/s with a burst of 50). The runtime builds the system's one rate limiter, the one
   * the shared HTTP client consults, from them (see effectiveLimits in connectors/registry.ts).
   */
  defaultLimits?(system: SystemConfig): LimitsConfig | undefined;
  /**
   * The default conversion of `entity` for a system of this kind, as data (`obmen mapping show`,
   * `extends: none`, what a filter exit writes). undefined: the connector does not write it.
   * The tables are checked against the real conversions in test/mapping-defaults.test.ts.
   */
  defaults?(entity: string, system: SystemConfig): TargetDefaults | undefined;
  /**
   * The entities a system of this kind can receive on a route. `obmen config check` and start-up
   * refuse a route of any other entity to it (see routeTargetIssues in connectors/registry.ts);
   * undefined: not declared, every route is accepted and the sink answers per item.
   */
  accepts?(system: SystemConfig): readonly string[] | undefined;
  /**
   * Reference paths of `entity` (as the entity declares them, e.g. 'properties[].propertyId')
   * that the target resolves itself or does not use: delivery neither waits for them nor
   * resolves them, as if every route to the system listed them in `ignoreRefs` (merged with it).
   */
  ignoredRefs?(entity: string, system: SystemConfig): readonly string[] | undefined;
}
