import type { ConfigIssue } from './errors.ts';

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces ${VAR} and ${VAR:-default} in every string of a parsed config tree. An unset variable
 * without a default is an issue (reported with its path), not an empty string that fails later.
 */
export function interpolateEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  source: string,
  issues: ConfigIssue[],
  path: string[] = [],
): unknown {
  if (typeof value === 'string') {
    return value.replace(VARIABLE, (_match, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      issues.push({
        source,
        path: path.join('.'),
        message: `environment variable ${name} is not set: export ${name}=… (or put it in .env), or remove the reference`,
      });
      return '';
    });
  }
  if (Array.isArray(value))
    return value.map((item, i) => interpolateEnv(item, env, source, issues, [...path, String(i)]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolateEnv(item, env, source, issues, [...path, key])]),
    );
  }
  return value;
}
