import type { TranscriptSegment } from '../contract/transcription.ts';

type Segment = Omit<TranscriptSegment, 'index'>;

/**
 * Merges the final pass over a whole recording into its live transcript, stretch of speech by stretch:
 * segments of the two passes that overlap in time (on the same channel) describe the same speech, and
 * the pass the model was more confident about keeps it — the final pass heard each utterance with its
 * neighbours in one window, the live pass heard it alone, so where context helps it wins. Speech only
 * one pass has (the live pass missed the last words before Stop, say) is kept as it is.
 * Returns the merged transcript in time order, indexed from 0.
 */
export function refineTranscript(live: readonly Segment[], final: readonly Segment[]): TranscriptSegment[] {
  const channels = new Set([...live, ...final].map((s) => s.channel));
  const merged: Segment[] = [];
  for (const channel of channels) {
    const tagged = [
      ...live.filter((s) => s.channel === channel).map((segment) => ({ segment, final: false })),
      ...final.filter((s) => s.channel === channel).map((segment) => ({ segment, final: true })),
    ].sort((a, b) => a.segment.start - b.segment.start);
    // Clusters of segments whose times overlap: one stretch of speech each.
    const clusters: (typeof tagged)[] = [];
    let reach = Number.NEGATIVE_INFINITY;
    for (const item of tagged) {
      if (item.segment.start < reach) clusters.at(-1)!.push(item);
      else clusters.push([item]);
      reach = Math.max(reach, item.segment.end);
    }
    for (const cluster of clusters) {
      const fromLive = cluster.filter((i) => !i.final).map((i) => i.segment);
      const fromFinal = cluster.filter((i) => i.final).map((i) => i.segment);
      const keepFinal = fromLive.length === 0 || (fromFinal.length > 0 && score(fromFinal) > score(fromLive));
      merged.push(...(keepFinal ? fromFinal : fromLive));
    }
  }
  return merged.sort((a, b) => a.start - b.start).map((segment, index) => ({ ...segment, index }));
}

/** Duration-weighted mean confidence; a segment without one counts as 0. */
function score(segments: Segment[]): number {
  let weight = 0;
  let sum = 0;
  for (const s of segments) {
    const length = Math.max(s.end - s.start, 0.001);
    weight += length;
    sum += length * (s.confidence ?? 0);
  }
  return sum / weight;
}
