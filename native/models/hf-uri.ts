import { LocalModelError } from './errors.ts';

export const DEFAULT_HF_BASE_URL = 'https://huggingface.co';

/** The Hugging Face base URL: HF_ENDPOINT (the hub's own convention for mirrors) or huggingface.co. */
export function hfBaseUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env.HF_ENDPOINT?.trim() || DEFAULT_HF_BASE_URL;
}

/**
 * `hf:<owner>/<repo>/<path>` → `<base>/<owner>/<repo>/resolve/main/<path>`. Only the explicit-file
 * form is accepted: the `hf:<owner>/<repo>:<quant>` shorthand needs the hub's API, and the catalog
 * names every file anyway. Plain http(s) URLs pass through.
 */
export function resolveModelUri(uri: string, baseUrl: string = DEFAULT_HF_BASE_URL): string {
  if (/^https?:\/\//.test(uri)) return uri;
  const match = /^hf:([^/\s]+)\/([^/\s]+)\/(\S+)$/.exec(uri);
  if (!match) {
    throw new LocalModelError('INVALID_REQUEST', `${uri} is not a model file URI (expected hf:<owner>/<repo>/<file>)`);
  }
  const [, owner, repo, path] = match as unknown as [string, string, string, string];
  const encodedPath = path.split('/').map(encodeURIComponent).join('/');
  return `${baseUrl.replace(/\/+$/, '')}/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/resolve/main/${encodedPath}`;
}
