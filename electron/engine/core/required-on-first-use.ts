import { createRequire } from 'node:module';

/**
 * A library whose functions are synchronous, loaded (its CommonJS build, synchronously) the first time
 * one of them is needed rather than when the engine's modules load. For the big tables — the tokenizer's
 * BPE ranks, the price catalog — importing at start cost every CLI command and every start of the app
 * a fraction of a second, even when nothing was counted or priced.
 */
export function requiredOnFirstUse<Library>(specifier: string): () => Library {
  let library: Library | undefined;
  return () => {
    library ??= createRequire(import.meta.url)(specifier) as Library;
    return library;
  };
}
