/**
 * A configuration is a few levels deep (providers.<id>.rate_limit.requests_per_minute). Anything far
 * deeper is a mistake or an attack, and every later step that walks the tree (interpolation, validation,
 * cloning) recurses: refusing it here, with an iterative walk, keeps those steps' stacks bounded.
 */
export const MAX_CONFIG_DEPTH = 32;

/** The path of the first value nested deeper than `limit`, or undefined when the tree is shallow enough. */
export function pathBeyondDepth(root: unknown, limit: number): string[] | undefined {
  const pending: { value: unknown; path: string[] }[] = [{ value: root, path: [] }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value, path } = next;
    if (!value || typeof value !== 'object') continue;
    if (path.length >= limit) return path;
    for (const [key, child] of Object.entries(value)) pending.push({ value: child, path: [...path, key] });
  }
  return undefined;
}
