import type { MappingApi } from '../api/context.ts';
import type { ObmenConfig } from '../config/schema.ts';
import { configError } from '../core/errors.ts';
import type { Store } from '../store/store.ts';
import type { MappingDeps } from './compile.ts';
import { loadMapping } from './load.ts';
import { showRouteMapping } from './show.ts';
import { runMappingTest } from './test-run.ts';
import { listMappingVersions, routeMappingName } from './versions.ts';

export { routeMappingName };

/** The name a route's mapping versions are stored under. */

/**
 * The mapping engine as the API sees it (ApiContext.mapping, used by src/api/routes/mapping.ts):
 * a route's mapping with its versions, and the dry run.
 */
export function createMappingApi(options: {
  config: ObmenConfig;
  store: Store;
  configDir?: string;
  directoryHas?: MappingDeps['directoryHas'];
}): MappingApi {
  const { config, store } = options;
  const configDir = options.configDir ?? process.cwd();
  return {
    async get(name) {
      const route = config.routes.find((r) => r.name === name);
      if (!route) return undefined;
      const loaded = loadMapping(`route ${name}`, route.mapping, configDir);
      return {
        spec: route.mapping === undefined ? null : loaded.spec,
        versions: await listMappingVersions(store, routeMappingName(name)),
        effective: showRouteMapping(config, name, configDir),
      };
    },
    async test(route, input) {
      if (input.recordId === undefined && input.sample === undefined) {
        throw configError('send "recordId" (a record of the hub) or "sample" (an object)');
      }
      const [result] = await runMappingTest({
        config,
        store,
        route,
        configDir,
        ...(input.recordId !== undefined ? { recordId: input.recordId } : { sample: input.sample }),
        ...(options.directoryHas ? { directoryHas: options.directoryHas } : {}),
      });
      if (!result) throw configError('the sample holds no record');
      return {
        input: result.input,
        output: result.output,
        trace: { filter: result.filter, fields: result.trace, notes: result.notes },
      };
    },
  };
}
