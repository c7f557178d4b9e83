/**
 * `${VAR}` / `${VAR:-default}` interpolation in the string values of parsed obmen.yaml, so
 * secrets live in the environment and never in the file. Keys are left alone on purpose: a key
 * that changes with the environment would make the config's shape depend on the host.
 * `$${` writes a literal `${`.
 */

/** Path segments as zod reports them: keys and array indexes. */
export type ConfigPath = readonly PropertyKey[];

/** `routes[2].schedule`, `systems.onec.credentials.password`, `systems["my site"].url`. */
export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(String(segment)))
      out += out === '' ? String(segment) : `.${String(segment)}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

const PLACEHOLDER = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const VARIABLE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

function interpolateString(text: string, path: ConfigPath, env: NodeJS.ProcessEnv, issues: string[]): string {
  return text.replace(PLACEHOLDER, (match: string, inner: string | undefined) => {
    if (match === '$${') return '${';
    const where = formatPath(path);
    if (inner === undefined) {
      issues.push(`${where}: "\${" is not closed; write \${NAME} or $\${ for a literal "\${"`);
      return match;
    }
    const parsed = VARIABLE.exec(inner);
    if (!parsed) {
      issues.push(
        `${where}: "\${${inner}}" is not a valid variable reference; use \${NAME} or \${NAME:-default} (letters, digits, "_")`,
      );
      return match;
    }
    const [, name, fallback] = parsed as unknown as [string, string, string | undefined];
    const value = env[name];
    // Shell semantics: ":-" also replaces a variable that is set but empty.
    if (value !== undefined && (value !== '' || fallback === undefined)) return value;
    if (fallback !== undefined) return fallback;
    issues.push(`${where}: environment variable ${name} is not set; export it or use \${${name}:-default}`);
    return match;
  });
}

/** Interpolates every string value below `value`; unresolved references are reported in `issues`. */
export function interpolateEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  issues: string[],
  path: ConfigPath = [],
): unknown {
  if (typeof value === 'string') return interpolateString(value, path, env, issues);
  if (Array.isArray(value))
    return value.map((item, index) => interpolateEnv(item, env, issues, [...path, index]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value))
      out[key] = interpolateEnv(item, env, issues, [...path, key]);
    return out;
  }
  return value;
}
