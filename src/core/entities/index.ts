import { z } from 'zod';
import { CANONICAL } from './canonical.ts';
import { formatIssues } from './issues.ts';
import {
  type CompiledRef,
  collectRefs,
  compileRef,
  type FoundRef,
  replaceRefs,
  replaceRefsInPlace,
} from './ref-paths.ts';

export * from './catalog.ts';
export { parseNumeric } from './fields.ts';
export * from './order.ts';
export * from './parties.ts';
export * from './pricing.ts';

/** The names of the canonical entities, in catalog → commerce order. */
export const CANONICAL_ENTITIES: readonly string[] = CANONICAL.map((entity) => entity.name);

/** A field of an entity that holds another object's id: 'groupId', 'lines[].productId'. */
export interface RefPath {
  path: string;
  entity: string;
}

/** One entity kind as the engine sees it. */
export interface EntityDefinition {
  name: string;
  title: { ru: string; en: string };
  schema: z.ZodType;
  refs: readonly RefPath[];
  /** Reference paths naming the object this one is about (see CanonicalEntity.subjects). */
  subjects: readonly string[];
  custom: boolean;
}

/** A reference found in an object, with its concrete path ('lines[2].productId'). */
export type EntityRef = FoundRef;

export type ValidationResult = { ok: true; data: Record<string, unknown> } | { ok: false; issues: string[] };

/** All entity kinds known to one configuration: the canonical ones plus the declared custom ones. */
export interface EntityRegistry {
  get(name: string): EntityDefinition | undefined;
  names(): string[];
  /** Validates and normalises; issues are human strings: 'product.barcodes[1]: expected a string' */
  validate(name: string, data: unknown): ValidationResult;
  /** Every reference the object holds (skips empty/null). */
  refsOf(name: string, data: Record<string, unknown>): EntityRef[];
  /** Returns a deep copy with every reference id replaced by fn(entity, id); ids fn cannot map (undefined) are listed in `missing` and left as they were. */
  mapRefs(
    name: string,
    data: Record<string, unknown>,
    fn: (entity: string, id: string) => string | undefined,
  ): { data: Record<string, unknown>; missing: EntityRef[] };
  /**
   * mapRefs without the copy: the ids are replaced in `data` itself, which the caller owns (a
   * validated copy). Returns a function that puts them back.
   */
  replaceRefsInPlace(
    name: string,
    data: Record<string, unknown>,
    fn: (entity: string, id: string) => string | undefined,
  ): () => void;
}

/** A custom entity as declared in obmen.yaml (`entities:`). */
export interface CustomEntityDeclaration {
  name: string;
  description?: string;
  refs?: Record<string, string>;
}

const customSchema = z.record(z.string(), z.unknown());

/**
 * Every object of every import is validated, so each schema runs as zod's compiled parser
 * (z.compile: generated code with zod's own semantics and error messages; a schema or value it
 * cannot model goes to the runtime parser). A 1C product validates 4–6× faster this way
 * (bench/README.md). Compiled when first used (~3 ms a schema) and shared by every registry.
 */
const compiled = new WeakMap<z.ZodType, z.ZodType>();
function compiledSchema(schema: z.ZodType): z.ZodType {
  let parser = compiled.get(schema);
  if (parser === undefined) {
    parser = z.compile(schema);
    compiled.set(schema, parser);
  }
  return parser;
}

interface Entry {
  definition: EntityDefinition;
  compiled: readonly CompiledRef[];
}

function entry(
  definition: Omit<EntityDefinition, 'refs' | 'subjects'>,
  refs: Record<string, string>,
  subjects: readonly string[] = [],
): Entry {
  for (const path of subjects) {
    if (!(path in refs))
      throw new Error(`entity "${definition.name}": subject "${path}" is not one of its references`);
  }
  const compiled = Object.entries(refs).map(([path, entity]) => {
    try {
      return compileRef(path, entity);
    } catch (error) {
      throw new Error(`entity "${definition.name}": ${(error as Error).message}`, { cause: error });
    }
  });
  return {
    definition: { ...definition, refs: compiled.map(({ path, entity }) => ({ path, entity })), subjects },
    compiled,
  };
}

/**
 * Builds the registry for one configuration. Throws, naming the entity, when a custom entity
 * would shadow a canonical one, is declared twice, or refers to an entity that does not exist:
 * those are set-up mistakes to fix in obmen.yaml before anything runs.
 */
export function createEntityRegistry(custom: ReadonlyArray<CustomEntityDeclaration> = []): EntityRegistry {
  const entries = new Map<string, Entry>();
  for (const { name, title, schema, refs, subjects } of CANONICAL) {
    entries.set(name, entry({ name, title, schema, custom: false }, refs, subjects));
  }
  for (const declared of custom) {
    if (entries.has(declared.name)) {
      const clash = entries.get(declared.name)!.definition.custom
        ? 'is declared twice'
        : 'shadows a canonical entity';
      throw new Error(
        `custom entity "${declared.name}" ${clash}: give it another name in obmen.yaml (entities:), e.g. "${declared.name}_ext"`,
      );
    }
    const title = declared.description ?? declared.name;
    entries.set(
      declared.name,
      entry(
        { name: declared.name, title: { ru: title, en: title }, schema: customSchema, custom: true },
        declared.refs ?? {},
      ),
    );
  }
  for (const { definition } of entries.values()) {
    for (const ref of definition.refs) {
      if (!entries.has(ref.entity)) {
        throw new Error(
          `entity "${definition.name}": reference "${ref.path}" points to unknown entity "${ref.entity}"; known entities are ${[...entries.keys()].join(', ')}`,
        );
      }
    }
  }

  const known = (name: string): Entry => {
    const found = entries.get(name);
    if (found === undefined)
      throw new Error(`unknown entity "${name}"; known entities are ${[...entries.keys()].join(', ')}`);
    return found;
  };

  return {
    get: (name) => entries.get(name)?.definition,
    names: () => [...entries.keys()],
    validate(name, data) {
      const found = entries.get(name);
      if (found === undefined) {
        return {
          ok: false,
          issues: [`unknown entity "${name}"; known entities are ${[...entries.keys()].join(', ')}`],
        };
      }
      const result = compiledSchema(found.definition.schema).safeParse(data, { reportInput: true });
      if (!result.success) return { ok: false, issues: formatIssues(name, result.error.issues) };
      return { ok: true, data: result.data as Record<string, unknown> };
    },
    refsOf: (name, data) => collectRefs(known(name).compiled, data),
    mapRefs: (name, data, fn) => replaceRefs(known(name).compiled, data, fn),
    replaceRefsInPlace: (name, data, fn) => replaceRefsInPlace(known(name).compiled, data, fn),
  };
}
