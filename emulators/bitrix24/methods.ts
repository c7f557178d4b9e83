import type { Params } from './params.ts';
import type { PortalState } from './state.ts';

/** What one method returns inside the envelope. */
export interface MethodOutput {
  result: unknown;
  total?: number;
  next?: number;
}

export interface CallContext {
  state: PortalState;
  /** 'oauth' for `/rest/<method>?auth=…`, 'webhook' for `/rest/<user>/<code>/<method>`. */
  authType: 'oauth' | 'webhook';
  /** Key of the app or webhook (operating time and event handlers are per app). */
  client: string;
}

export type Method = (params: Params, ctx: CallContext) => MethodOutput;
export type MethodTable = Record<string, Method>;

/** Methods that change data: counted in `/_stats` writes. */
export function isWrite(method: string): boolean {
  return /\.(add|update|delete|set|modify|conduct|confirm|cancel|unconduct)$/.test(method);
}
