import type { Connector, DeliveryItem, ItemOutcome } from '../core/connector.ts';
import { classify, configError, ObmenError } from '../core/errors.ts';

/**
 * "auth (expired_token) → refresh and retry once" (DESIGN): the one place where the engine
 * answers an `auth_refresh` error. It asks the connector for new credentials (refreshAuth) and
 * repeats the same write or read once; that repeat is not an attempt of its own. When the
 * connector cannot refresh, the refresh fails, or the system refuses the new credentials too,
 * the error becomes `config`, naming the system whose credentials a person must fix: retrying
 * the same credentials could never help.
 */

/**
 * Per connector: the refresh in progress, how many have finished and how the last one ended.
 * Batches that fail together share one refresh; a batch that started before a finished refresh
 * takes its outcome instead of refreshing again.
 */
interface RefreshState {
  running?: Promise<ObmenError | undefined> | undefined;
  done: number;
  last?: ObmenError | undefined;
}
const refreshes = new WeakMap<Connector, RefreshState>();

const isAuth = (error: unknown): error is ObmenError =>
  error instanceof ObmenError && error.errorClass === 'auth_refresh';

function stateOf(connector: Connector): RefreshState {
  let state = refreshes.get(connector);
  if (!state) {
    state = { done: 0 };
    refreshes.set(connector, state);
  }
  return state;
}

/** The config error an auth failure ends in: which system, what it said, what to fix. */
export function credentialsError(system: string, error: ObmenError, why: string): ObmenError {
  return configError(
    `${system} refused its credentials (${error.message}); ${why}: fix systems.${system}.credentials, then retry`,
    { system, code: error.code ?? 'AUTH', cause: error },
  );
}

/**
 * Gets new credentials, unless another caller already did since `seen` (then the repeat simply
 * uses them). Resolves with undefined when the repeat may go, else with the error to record:
 * config when refreshing is impossible or refused; transient when the token server is down.
 */
async function refresh(
  connector: Connector,
  system: string,
  error: ObmenError,
  seen: number,
): Promise<ObmenError | undefined> {
  const state = stateOf(connector);
  if (state.running) return state.running;
  if (state.done > seen) return state.last;
  if (!connector.refreshAuth) {
    return credentialsError(system, error, 'obmen has no way to renew them for this system');
  }
  state.running ??= connector
    .refreshAuth()
    .then(
      (): ObmenError | undefined => undefined,
      (caught: unknown) => {
        const failure = classify(caught, system);
        if (failure.errorClass === 'transient' || failure.errorClass === 'rate_limited') return failure;
        return failure.errorClass === 'config'
          ? failure
          : credentialsError(system, error, `getting new ones failed too (${failure.message})`);
      },
    )
    .then((outcome) => {
      state.done++;
      state.last = outcome;
      state.running = undefined;
      return outcome;
    });
  return state.running;
}

/**
 * Writes a batch; items the system refused with `auth_refresh` are written once more after a
 * refresh. A thrown error is one outcome per item, as the engine records it.
 */
export async function writeWithAuthRefresh(
  connector: Connector,
  system: string,
  items: DeliveryItem[],
  write: (items: DeliveryItem[]) => Promise<ItemOutcome[]>,
): Promise<ItemOutcome[]> {
  const settle = async (batch: DeliveryItem[]): Promise<ItemOutcome[]> => {
    try {
      return await write(batch);
    } catch (caught) {
      const failure = classify(caught, system);
      return batch.map((item) => ({ recordId: item.recordId, ok: false as const, error: failure }));
    }
  };
  const seen = stateOf(connector).done;
  const first = await settle(items);
  const expired = first.filter((o): o is Extract<ItemOutcome, { ok: false }> => !o.ok && isAuth(o.error));
  if (expired.length === 0) return first;

  const again = new Set(expired.map((o) => o.recordId));
  const problem = await refresh(connector, system, expired[0]!.error, seen);
  const second: ItemOutcome[] = problem
    ? [...again].map((recordId) => ({ recordId, ok: false as const, error: problem }))
    : (await settle(items.filter((item) => again.has(item.recordId)))).map((o) =>
        !o.ok && isAuth(o.error)
          ? { ...o, error: credentialsError(system, o.error, 'it refused the refreshed ones too') }
          : o,
      );
  const byId = new Map(second.map((o) => [o.recordId, o]));
  return first.map((o) => byId.get(o.recordId) ?? o);
}

/**
 * Runs a read (a pull) and, when it fails with `auth_refresh`, refreshes the credentials and runs
 * it once more from where the saved cursor stands. Any other error passes through unchanged.
 */
export async function readWithAuthRefresh<T>(
  connector: Connector,
  system: string,
  read: () => Promise<T>,
): Promise<T> {
  const seen = stateOf(connector).done;
  try {
    return await read();
  } catch (caught) {
    if (!isAuth(caught)) throw caught;
    const problem = await refresh(connector, system, caught, seen);
    if (problem) throw problem;
  }
  try {
    return await read();
  } catch (caught) {
    if (isAuth(caught)) throw credentialsError(system, caught, 'it refused the refreshed ones too');
    throw caught;
  }
}
