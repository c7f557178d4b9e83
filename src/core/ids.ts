import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/** Hub ids are random UUIDs: they never collide across processes or hosts. */
export function newRecordId(): string {
  return randomUUID();
}

/** Identifies one process in leases and sessions: host, pid and a random suffix. */
export function newOwnerId(role = 'obmen'): string {
  return `${role}@${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}
