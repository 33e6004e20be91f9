import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { DiarizationError, type DiarizationErrorCode } from './errors.ts';
import { listDiarizationModels, resolveDiarizationModel } from './models.ts';

/** One stretch of one voice. Speakers are numbered from 0 in the order the clustering gives. */
export interface SpeakerTurn {
  start: number;
  end: number;
  speaker: number;
}

export interface DiarizeRequest {
  /** The recording (any format native/audio decodes); it is mixed to one channel, the microphone's. */
  filePath: string;
  /** A model folder's id under modelsDir; default the first installed. */
  model?: string;
  /** How many people spoke, when known; default: the clustering threshold decides. */
  speakers?: number;
}

export interface SpeakerDiarizerOptions {
  /** Where diarization models live: `<modelsDir>/<id>/segmentation.onnx` and `embedding.onnx`. */
  modelsDir: string;
  /** onnxruntime threads; default every core but one. */
  threads?: number;
  /**
   * Cosine distance under which two voices are one speaker (sherpa-onnx's default is 0.5). Lower keeps
   * more speakers apart.
   */
  threshold?: number;
}

export interface SpeakerDiarizer {
  listModels(): Promise<{ id: string }[]>;
  diarize(request: DiarizeRequest, signal: AbortSignal): Promise<SpeakerTurn[]>;
}

/** What the parent sends the child process… */
export interface DiarizeJob {
  filePath: string;
  segmentation: string;
  embedding: string;
  speakers?: number;
  threshold: number;
  threads: number;
}

/** …and what it answers. */
export type DiarizeReply =
  | { type: 'turns'; turns: SpeakerTurn[]; durationSeconds: number }
  | { type: 'error'; code: DiarizationErrorCode; message: string };

const DEFAULT_THRESHOLD = 0.5;

/**
 * Speaker diarization with the field's standard stack through sherpa-onnx: a pyannote segmentation
 * model finds who speaks when within 10 s windows, a speaker-embedding model (WeSpeaker, 3D-Speaker)
 * describes each voice, and agglomerative clustering joins the voices across windows. Each job runs in
 * a child process, so a model the runtime rejects fails that job alone.
 */
export function createSpeakerDiarizer(options: SpeakerDiarizerOptions): SpeakerDiarizer {
  const threads = options.threads ?? Math.max(1, availableParallelism() - 1);
  return {
    listModels: async () => (await listDiarizationModels(options.modelsDir)).map(({ id }) => ({ id })),
    async diarize(request, signal) {
      if (signal.aborted) throw cancelled();
      const model = await resolveDiarizationModel(options.modelsDir, request.model);
      const job: DiarizeJob = {
        filePath: request.filePath,
        segmentation: model.segmentation,
        embedding: model.embedding,
        threshold: options.threshold ?? DEFAULT_THRESHOLD,
        threads,
        ...(request.speakers ? { speakers: request.speakers } : {}),
      };
      const reply = await runChild(job, model.id, signal);
      if (reply.type === 'error') throw new DiarizationError(reply.code, reply.message);
      return reply.turns.sort((a, b) => a.start - b.start);
    },
  };
}

function cancelled(): DiarizationError {
  return new DiarizationError('CANCELLED', 'finding speakers was cancelled');
}

function runChild(job: DiarizeJob, modelId: string, signal: AbortSignal): Promise<DiarizeReply> {
  return new Promise((resolve, reject) => {
    // No execArgv: the child is plain Node running this folder's TypeScript, whatever runs the parent.
    const child = fork(new URL('./child.ts', import.meta.url), [], {
      execArgv: [],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    let reply: DiarizeReply | undefined;
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    const onAbort = () => child.kill('SIGKILL');
    signal.addEventListener('abort', onAbort, { once: true });
    child.once('message', (message: DiarizeReply) => {
      reply = message;
    });
    child.once('error', (error) =>
      reject(new DiarizationError('INTERNAL', `the diarizer could not start: ${error.message}`)),
    );
    child.once('exit', (code) => {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) return reject(cancelled());
      if (reply) return resolve(reply);
      const said = stderr.trim().split('\n').at(-1);
      reject(
        new DiarizationError(
          'INTERNAL',
          `speaker model ${modelId} could not be run (the runtime stopped with code ${code}${said ? `: ${said}` : ''}); download it again`,
        ),
      );
    });
    child.send(job);
  });
}
