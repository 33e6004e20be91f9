import type { Provenance } from './api.ts';

/**
 * Who produced a transcript or summary, as a sentence every surface shows the same way (meeting view,
 * exports, CLI): "Transcribed on this machine by whisper-base", "Summarized by OpenAI gpt-4o-mini (cloud)".
 */
export function describeProvenance(verb: string, producedBy: readonly Provenance[] | undefined): string | undefined {
  if (!producedBy || producedBy.length === 0) return undefined;
  const parts = producedBy.map((p) =>
    p.onMachine ? `on this machine by ${p.model}` : `by ${p.providerLabel} ${p.model} (cloud)`,
  );
  return `${verb} ${parts.join(' and ')}`;
}
