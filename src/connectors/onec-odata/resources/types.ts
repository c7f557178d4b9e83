/** How one 1C entity set maps to one canonical entity, both ways. */
export interface OnecResource {
  /** Canonical entity name (src/core/entities). */
  entity: string;
  /** Default entity set, with a virtual-table function where it is one (`…/Balance`). */
  entitySet: string;
  /** A stable order for $top/$skip paging: 1C returns no next link. */
  orderBy: string;
  /** Filter always applied for this entity (catalog folders vs items). */
  filter?: string;
  /** The object's id in 1C: Ref_Key, or the dimensions of a register record. */
  externalId(raw: Record<string, unknown>): string | undefined;
  toCanonical(raw: Record<string, unknown>): { data: Record<string, unknown>; deleted: boolean };
  /** Canonical → 1C fields (references already hold 1C Ref_Key GUIDs). */
  toOnec?(data: Record<string, unknown>): Record<string, unknown>;
  /**
   * For virtual tables that drop rows when they reach zero (Balance): the canonical data of a
   * row that was there at the last poll and is gone now.
   */
  vanished?(externalId: string): Record<string, unknown> | undefined;
  /**
   * The 1C fields written from these canonical fields (the ones 1C owns, `ownership:`), which an
   * update leaves out. Absent: the resource writes everything on every update.
   */
  onecFieldsOf?(owned: readonly string[], data: Record<string, unknown>): string[];
  /** 1C fields that identify an object already created by an earlier attempt. */
  matchBy?(body: Record<string, unknown>): string[] | undefined;
  /**
   * 1C fields set only when obmen creates the object, under the route's defaults and mapping
   * (the status of a new order: after that it is 1C's to change).
   */
  onCreate?(data: Record<string, unknown>): Record<string, unknown>;
}

/** Ref_Key is the id of every catalog and document (DOC 17.4.3). */
export const byRefKey = (raw: Record<string, unknown>): string | undefined =>
  typeof raw['Ref_Key'] === 'string' ? raw['Ref_Key'] : undefined;
