/** The mapping layer's public surface: what the engine, CLI and API call. */
export { createMappingApi, routeMappingName } from './api.ts';
export type { FieldTrace, MapContext, MapOutcome, MappingDeps, MappingTrace } from './compile.ts';
export { MappingError } from './expression.ts';
export { type LoadedMapping, loadMapping } from './load.ts';
export { compileRouteMapping, type RouteMapping } from './route.ts';
export {
  type EffectiveField,
  type EffectiveMapping,
  effectiveMapping,
  formatEffectiveMapping,
  showRouteMapping,
} from './show.ts';
export { compileSourceMapping, type SourceMapOutcome, type SourceMapping } from './source.ts';
export { type MappingSpec, mappingRefSchema, routeMappingSchema, sourceMappingSchema } from './spec.ts';
export { formatMappingTest, type MappingTestResult, runMappingTest } from './test-run.ts';
export {
  affectedRecords,
  diffSpecs,
  formatMappingVersions,
  listMappingVersions,
  type MappingVersion,
  recordMappingVersion,
} from './versions.ts';
