import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assignSpeakers } from '../../../../electron/engine/meetings/speakers.ts';
import { createSpeakerDiarizer } from '../../../../native/diarization/index.ts';
import { generateDiarizationModels } from '../../../../scripts/diarization-onnx/generate.ts';
import { writeToneMeeting } from '../../../support/speaker-tones.ts';
import { tempDirsRemovedAfterEach } from '../../store/helpers.ts';

const tempDir = tempDirsRemovedAfterEach();
const signal = new AbortController().signal;

/**
 * The diarizer on sherpa-onnx with generated models (scripts/diarization-onnx): real windows,
 * embeddings and clustering over voices the models are designed to tell apart. What real models
 * would find in real speech is not measured here.
 */
describe('speaker diarization', () => {
  it('finds each turn of two voices, one speaker each, and the transcript takes them in order of first words', async () => {
    const dir = tempDir();
    await generateDiarizationModels(join(dir, 'models', 'generated'));
    const turns = writeToneMeeting(join(dir, 'meeting.wav'), [
      { voice: 'B', seconds: 3 },
      { voice: 'A', seconds: 4 },
      { voice: 'B', seconds: 2 },
      { voice: 'A', seconds: 3 },
    ]);
    const diarizer = createSpeakerDiarizer({ modelsDir: join(dir, 'models'), threads: 1 });
    expect(await diarizer.listModels()).toEqual([{ id: 'generated' }]);
    const found = await diarizer.diarize({ filePath: join(dir, 'meeting.wav') }, signal);
    expect(found).toHaveLength(turns.length);
    for (const [i, turn] of turns.entries()) {
      expect(found[i]!.start).toBeCloseTo(turn.start, 0);
      expect(found[i]!.end).toBeCloseTo(turn.end, 0);
    }
    // Same voice, same speaker; the two voices apart.
    expect(found[0]!.speaker).toBe(found[2]!.speaker);
    expect(found[1]!.speaker).toBe(found[3]!.speaker);
    expect(found[0]!.speaker).not.toBe(found[1]!.speaker);

    const segments = turns.map((turn, index) => ({
      index,
      start: turn.start,
      end: turn.end,
      text: '',
      speaker: null,
      confidence: null,
    }));
    expect(assignSpeakers(segments, found)).toEqual(['Speaker 1', 'Speaker 2', 'Speaker 1', 'Speaker 2']);

    // Told there is one speaker, the clustering joins them.
    const one = await diarizer.diarize({ filePath: join(dir, 'meeting.wav'), speakers: 1 }, signal);
    expect(new Set(one.map((turn) => turn.speaker)).size).toBe(1);
  }, 60_000);

  it('fails that job alone, saying what to do, for a missing or broken model and for a file that is not audio', async () => {
    const dir = tempDir();
    const diarizer = createSpeakerDiarizer({ modelsDir: join(dir, 'models'), threads: 1 });
    await expect(diarizer.diarize({ filePath: join(dir, 'x.wav') }, signal)).rejects.toMatchObject({
      code: 'MODEL_NOT_INSTALLED',
      message: expect.stringContaining('switchboard models pull speakers-pyannote-wespeaker'),
    });
    mkdirSync(join(dir, 'models', 'broken'), { recursive: true });
    writeFileSync(join(dir, 'models', 'broken', 'segmentation.onnx'), 'not a model');
    writeFileSync(join(dir, 'models', 'broken', 'embedding.onnx'), 'not a model');
    writeToneMeeting(join(dir, 'meeting.wav'), [{ voice: 'A', seconds: 2 }]);
    await expect(diarizer.diarize({ filePath: join(dir, 'meeting.wav') }, signal)).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringMatching(/^speaker model broken could not be run .*; download it again$/),
    });
    await generateDiarizationModels(join(dir, 'models', 'broken'));
    writeFileSync(join(dir, 'notes.wav'), 'this is not audio');
    await expect(diarizer.diarize({ filePath: join(dir, 'notes.wav') }, signal)).rejects.toMatchObject({
      code: 'AUDIO_INVALID',
    });
  }, 60_000);
});
