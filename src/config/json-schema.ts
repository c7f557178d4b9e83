import { z } from 'zod';
import { configSchema } from './schema.ts';

/**
 * JSON Schema of obmen.yaml for editors (VS Code YAML: `# yaml-language-server: $schema=…`)
 * and `obmen config schema`. Built from the input side of the zod declaration, so fields with
 * defaults are optional, as people write them.
 */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'obmen.yaml',
    description:
      'Configuration of obmen, the exchange hub between 1C:Enterprise, 1C-Bitrix sites, Bitrix24 and other systems',
    ...schema,
  };
}
