import { LocalModelError } from './errors.ts';

export const DEFAULT_HF_BASE_URL = 'https://huggingface.co';

/** The Hugging Face base URL: HF_ENDPOINT (the hub's own convention for mirrors) or huggingface.co. */
export function hfBaseUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env.HF_ENDPOINT?.trim() || DEFAULT_HF_BASE_URL;
}

/**
 * `hf:<owner>/<repo>[@<revision>]/<path>` → `<base>/<owner>/<repo>/resolve/<revision or main>/<path>`.
 * The catalog pins the revision whose file its sha256 was published for, so a later upload to the
 * repository cannot make a verified download fail (or pass with other bytes). Only the explicit-file
 * form is accepted: the `hf:<owner>/<repo>:<quant>` shorthand needs the hub's API. Plain http(s) URLs
 * pass through.
 */
export function resolveModelUri(uri: string, baseUrl: string = DEFAULT_HF_BASE_URL): string {
  if (/^https?:\/\//.test(uri)) return uri;
  const match = /^hf:([^/\s@]+)\/([^/\s@]+)(?:@([0-9a-zA-Z._-]+))?\/(\S+)$/.exec(uri);
  if (!match) {
    throw new LocalModelError('INVALID_REQUEST', `${uri} is not a model file URI (expected hf:<owner>/<repo>/<file>)`);
  }
  const [, owner, repo, revision = 'main', path] = match as unknown as [
    string,
    string,
    string,
    string | undefined,
    string,
  ];
  const encodedPath = path.split('/').map(encodeURIComponent).join('/');
  return `${baseUrl.replace(/\/+$/, '')}/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/resolve/${encodeURIComponent(revision)}/${encodedPath}`;
}
