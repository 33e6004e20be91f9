import { SwitchboardError } from '../contract/errors.ts';
import type { TranscriptSegment } from '../contract/transcription.ts';
import type { MeetingRepository } from '../store/meetings.ts';
import { asSwitchboardError } from './errors.ts';

/** One stretch of one voice, as a diarizer finds it (speakers numbered from 0). */
export interface SpeakerTurn {
  start: number;
  end: number;
  speaker: number;
}

/**
 * Who spoke when, on this machine. The engine owns the interface; native/diarization implements it
 * (sherpa-onnx: pyannote segmentation, a speaker-embedding model, clustering).
 */
export interface SpeakerDiarizer {
  diarize(request: { filePath: string; speakers?: number }, signal: AbortSignal): Promise<SpeakerTurn[]>;
}

/** What people see until they rename a speaker: "Speaker 1", "Speaker 2", … in order of first words. */
export function speakerLabel(n: number): string {
  return `Speaker ${n}`;
}

/**
 * Gives each transcript segment the voice heard most during it (by overlap in time); a segment no turn
 * overlaps keeps no speaker. Voices are numbered in the order they first speak in the transcript.
 */
export function assignSpeakers(
  segments: readonly TranscriptSegment[],
  turns: readonly SpeakerTurn[],
): (string | null)[] {
  const numbers = new Map<number, number>();
  return segments.map((segment) => {
    const heard = new Map<number, number>();
    for (const turn of turns) {
      const overlap = Math.min(segment.end, turn.end) - Math.max(segment.start, turn.start);
      if (overlap > 0) heard.set(turn.speaker, (heard.get(turn.speaker) ?? 0) + overlap);
    }
    if (heard.size === 0) return null;
    const [voice] = [...heard.entries()].reduce((best, entry) => (entry[1] > best[1] ? entry : best));
    if (!numbers.has(voice)) numbers.set(voice, numbers.size + 1);
    return speakerLabel(numbers.get(voice)!);
  });
}

export interface FindSpeakersDeps {
  meetings: MeetingRepository;
  diarizer: SpeakerDiarizer;
  /** Where a meeting's recording is (TranscriptionQueue.audioPathOf). */
  audioPathOf(meetingId: string): string | undefined;
}

/**
 * Finds who spoke when in a meeting's recording and writes it into its transcript, replacing speakers
 * found before (names given to them included). Returns the transcript with its speakers.
 */
export async function findSpeakers(
  deps: FindSpeakersDeps,
  meetingId: string,
  options: { speakers?: number; signal?: AbortSignal } = {},
): Promise<TranscriptSegment[]> {
  const segments = deps.meetings.segments(deps.meetings.get(meetingId).id);
  if (segments.length === 0)
    throw new SwitchboardError('INVALID_REQUEST', 'the meeting has no transcript yet; find speakers once it has one');
  const filePath = deps.audioPathOf(meetingId);
  if (!filePath)
    throw new SwitchboardError(
      'AUDIO_INVALID',
      'the meeting has no recording to find speakers in (an import without its audio)',
    );
  let turns: SpeakerTurn[];
  try {
    turns = await deps.diarizer.diarize(
      { filePath, ...(options.speakers ? { speakers: options.speakers } : {}) },
      options.signal ?? new AbortController().signal,
    );
  } catch (error) {
    throw asSwitchboardError(error);
  }
  deps.meetings.setSpeakers(meetingId, assignSpeakers(segments, turns));
  return deps.meetings.segments(meetingId);
}
