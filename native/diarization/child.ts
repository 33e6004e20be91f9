/**
 * Runs one diarization in its own process: sherpa-onnx ends the process (exit) on a model it cannot
 * use, which must cost this job, never the app. The parent (diarizer.ts) sends a DiarizeJob and gets
 * one DiarizeReply back.
 */
import { createRequire } from 'node:module';
import { decodeAudio } from '../audio/index.ts';
import type { DiarizeJob, DiarizeReply } from './diarizer.ts';

// sherpa-onnx-node is CommonJS with a native addon.
const sherpa = createRequire(import.meta.url)('sherpa-onnx-node') as {
  OfflineSpeakerDiarization: new (
    config: object,
  ) => {
    sampleRate: number;
    process(samples: Float32Array): { start: number; end: number; speaker: number }[];
  };
};

function reply(message: DiarizeReply): void {
  process.send!(message, () => process.exit(0));
}

process.once('message', async (job: DiarizeJob) => {
  try {
    const audio = await decodeAudio(job.filePath);
    const diarizer = new sherpa.OfflineSpeakerDiarization({
      segmentation: { pyannote: { model: job.segmentation }, numThreads: job.threads, debug: 0 },
      embedding: { model: job.embedding, numThreads: job.threads, debug: 0 },
      // A known number of speakers cuts the clustering tree there; else the distance threshold decides.
      clustering: { numClusters: job.speakers ?? -1, threshold: job.threshold },
      minDurationOn: 0.3,
      minDurationOff: 0.5,
    });
    const turns = diarizer.process(audio.samples).map((turn) => ({ ...turn }));
    reply({ type: 'turns', turns, durationSeconds: audio.durationSeconds });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    reply({
      type: 'error',
      code: code === 'AUDIO_INVALID' ? 'AUDIO_INVALID' : 'INTERNAL',
      message: error instanceof Error ? error.message : String(error),
    });
  }
});
