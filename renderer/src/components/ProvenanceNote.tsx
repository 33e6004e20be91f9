import type { Provenance } from '#contract/api.ts';
import { describeProvenance } from '#contract/provenance.ts';

/** "Transcribed on this machine by whisper-base" / "Summarized by OpenAI gpt-4o-mini (cloud)". */
export function ProvenanceNote({ verb, producedBy }: { verb: string; producedBy: readonly Provenance[] | undefined }) {
  const text = describeProvenance(verb, producedBy);
  if (!text) return null;
  const cloud = producedBy?.some((p) => !p.onMachine);
  return <p className={cloud ? 'provenance cloud muted small' : 'provenance muted small'}>{text}</p>;
}
