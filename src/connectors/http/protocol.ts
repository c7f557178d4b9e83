import { z } from 'zod';

/** The wire format of obmen's generic http protocol (docs/connectors/http.md). */

export interface WireItem {
  id: string;
  externalId: string | null;
  version: number;
  hash: string;
  deleted: boolean;
  data: Record<string, unknown>;
}

export const wireErrorSchema = z.object({
  code: z.string().optional(),
  message: z.string(),
  retryable: z.boolean().optional(),
});

export const batchResponseSchema = z.object({
  results: z.array(
    z.union([
      z.object({ id: z.string(), ok: z.literal(true), externalId: z.string().optional() }),
      z.object({ id: z.string(), ok: z.literal(false), error: wireErrorSchema }),
    ]),
  ),
});

export const pageResponseSchema = z.object({
  items: z.array(
    z.object({
      id: z.string().min(1),
      data: z.record(z.string(), z.unknown()),
      deleted: z.boolean().optional(),
      updatedAt: z.string().optional(),
    }),
  ),
  next: z.string().nullable().optional(),
  /** Optional extension: where to resume after this page even when it is the last one. */
  cursor: z.string().nullable().optional(),
});

/** Whole-request error body a target may send with a 4xx/5xx. */
export const errorBodySchema = z.object({ error: wireErrorSchema });

export type BatchResponse = z.infer<typeof batchResponseSchema>;
export type PageResponse = z.infer<typeof pageResponseSchema>;
