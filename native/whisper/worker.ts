/**
 * The Whisper worker thread: decodes the audio, finds speech, and runs transformers.js (onnxruntime) on it,
 * posting each segment and progress step as it happens, so that the work (seconds to hours of CPU) never
 * blocks the caller's thread. Cancelling is cooperative: it stops ffmpeg at once and generation at the next
 * decoder step. The thread is not terminated mid-run: terminating a worker while an onnxruntime-node run is
 * in flight aborts the whole process (its completion callback throws into a torn-down environment).
 */
import path from 'node:path';
import { parentPort } from 'node:worker_threads';
import {
  type AutomaticSpeechRecognitionPipeline,
  env,
  LogitsProcessorList,
  pipeline,
  type Tensor,
} from '@huggingface/transformers';
import { AudioDecodeError, decodeAudio, SAMPLE_RATE } from '../audio/index.ts';
import { detectSpeech, type Span } from '../vad/index.ts';
import { confidence, type DecodedPiece, TIMESTAMP_SECONDS, UtteranceDecoder, type UtterancePlan } from './decoding.ts';
import { TranscriptionError } from './errors.ts';
import type { Dtype } from './models.ts';
import type { TranscriptionEvent, TranscriptionRequest } from './types.ts';
import { type DecodingWindow, planWindows } from './windows.ts';

export type JobMessage =
  | {
      type: 'transcribe';
      job: number;
      model: { id: string; dir: string; dtype: Dtype };
      threads?: number;
      request: TranscriptionRequest;
    }
  | { type: 'cancel'; job: number };
type TranscribeMessage = Extract<JobMessage, { type: 'transcribe' }>;

export type WorkerMessage =
  | { type: 'event'; job: number; event: TranscriptionEvent }
  | { type: 'failed'; job: number; code: TranscriptionError['code']; message: string }
  | { type: 'finished'; job: number };

/** Generous for speech (fast talkers reach ~5 tokens/s); a decoder stuck in a loop stops here. */
const MAX_TOKENS_PER_SECOND = 7;
/** Even a short "Okay." gets room for a few words and punctuation. */
const MIN_TOKENS_PER_UTTERANCE = 8;
/** Repetition guards against Whisper's hallucination loops. */
const NO_REPEAT_NGRAM_SIZE = 4;
const REPETITION_PENALTY = 1.1;
const MAX_PROMPT_TOKENS = 100;

const port = parentPort!;
let loaded: { key: string; asr: AutomaticSpeechRecognitionPipeline } | undefined;

async function load(model: TranscribeMessage['model'], threads?: number): Promise<AutomaticSpeechRecognitionPipeline> {
  const key = `${model.dir}|${model.dtype}|${threads ?? ''}`;
  if (loaded?.key === key) return loaded.asr;
  await loaded?.asr.dispose();
  loaded = undefined;
  // Offline only: models come from the folder the user installed them in, never from a hub.
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = path.dirname(model.dir);
  const asr = (await pipeline('automatic-speech-recognition', path.basename(model.dir), {
    dtype: model.dtype,
    device: 'cpu',
    session_options: {
      ...(threads ? { intraOpNumThreads: threads } : {}),
      interOpNumThreads: 1,
      // Idle onnxruntime threads spin-wait by default, burning cores that a desktop app shares with its UI
      // (and, on a busy machine, slowing the run itself).
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    },
  }).catch((error: unknown) => {
    throw new TranscriptionError(
      'MODEL_NOT_INSTALLED',
      `the Whisper model "${model.id}" (${model.dtype}) in ${model.dir} could not be loaded ` +
        `(${error instanceof Error ? error.message : String(error)}); its files may be damaged: download it again`,
      { cause: error },
    );
  })) as AutomaticSpeechRecognitionPipeline;
  loaded = { key, asr };
  return asr;
}

async function transcribe(
  message: TranscribeMessage,
  signal: AbortSignal,
  emit: (event: TranscriptionEvent) => void,
): Promise<void> {
  const { request } = message;
  const startAt = request.startAt ?? 0;
  if (!(startAt >= 0)) {
    throw new TranscriptionError('INVALID_REQUEST', `startAt must be a number of seconds ≥ 0 (got ${startAt})`);
  }
  const audio = await decodeAudio(request.filePath, { signal });
  const total = audio.durationSeconds;
  let processed = Math.min(startAt, total);
  let reported = -1;
  const progress = (seconds: number) => {
    processed = Math.min(total, Math.max(processed, seconds));
    if (processed === reported) return;
    reported = processed;
    emit({ type: 'progress', fraction: processed / total, processedSeconds: processed, totalSeconds: total });
  };
  progress(processed);

  const offset = Math.round(processed * SAMPLE_RATE);
  const utterances = (await detectSpeech(audio.samples.subarray(offset))).map((span) => ({
    start: span.start + offset / SAMPLE_RATE,
    end: span.end + offset / SAMPLE_RATE,
  }));
  const windows = planWindows(utterances);
  let language = request.language ?? 'en';
  // A recording with no speech never reaches the model, so it cannot hallucinate text into the silence.
  if (windows.length > 0) {
    const asr = await load(message.model, message.threads);
    const prefix = decoderPrefix(asr, request);
    language = prefix.language;
    let index = 0;
    for (const [w, window] of windows.entries()) {
      signal.throwIfAborted();
      await decodeWindow(asr, prefix, audio.samples, window, signal, (utterance, pieces) => {
        for (const segment of toSegments(asr, window, utterance, pieces)) {
          emit({ type: 'segment', segment: { ...segment, index: index++ } });
        }
        progress(utterance.end);
      });
      progress(windows[w + 1]?.start ?? total);
    }
  }
  progress(total);
  emit({ type: 'done', durationSeconds: total, language, model: message.model.id });
}

interface DecoderPrefix {
  tokens: number[];
  language: string;
}

/** [<|startofprev|> prompt…] <|startoftranscript|> [<|lang|> <|transcribe|>] — timestamps on. */
function decoderPrefix(asr: AutomaticSpeechRecognitionPipeline, request: TranscriptionRequest): DecoderPrefix {
  const { tokenizer } = asr;
  const config = asr.model.generation_config as unknown as {
    decoder_start_token_id: number;
    is_multilingual?: boolean;
  };
  const id = (token: string) => tokenizer.convert_tokens_to_ids(token) as number | undefined;
  const tokens: number[] = [];
  if (request.prompt?.trim()) {
    const words = tokenizer.encode(` ${request.prompt.trim()}`, { add_special_tokens: false });
    tokens.push(id('<|startofprev|>')!, ...words.slice(-MAX_PROMPT_TOKENS));
  }
  tokens.push(config.decoder_start_token_id);
  const language = request.language?.toLowerCase();
  if (!config.is_multilingual) {
    if (language && language !== 'en' && language !== 'english') {
      throw new TranscriptionError(
        'INVALID_REQUEST',
        `this Whisper model understands English only; choose a multilingual model to transcribe "${request.language}"`,
      );
    }
    return { tokens, language: 'en' };
  }
  const code = language ?? 'en';
  const languageToken = id(`<|${code}|>`);
  if (languageToken === undefined) {
    throw new TranscriptionError(
      'INVALID_REQUEST',
      `unknown language "${request.language}"; use a language code such as "en", "de" or "fr"`,
    );
  }
  tokens.push(languageToken, id('<|transcribe|>')!);
  return { tokens, language: code };
}

async function decodeWindow(
  asr: AutomaticSpeechRecognitionPipeline,
  prefix: DecoderPrefix,
  samples: Float32Array,
  window: DecodingWindow,
  signal: AbortSignal,
  onUtterance: (utterance: Span, pieces: DecodedPiece[]) => void,
): Promise<void> {
  const audio = samples.subarray(Math.floor(window.start * SAMPLE_RATE), Math.ceil(window.end * SAMPLE_RATE));
  const { input_features } = (await asr.processor(audio)) as { input_features: Tensor };
  const step = (seconds: number) => Math.round((seconds - window.start) / TIMESTAMP_SECONDS);
  const config = asr.model.config as unknown as { max_target_positions: number };
  const room = config.max_target_positions - prefix.tokens.length;
  const plans: UtterancePlan[] = window.utterances.map((u) => ({
    startStep: step(u.start),
    endStep: Math.max(step(u.end), step(u.start) + 1),
    maxTokens: Math.max(MIN_TOKENS_PER_UTTERANCE, Math.ceil((u.end - u.start) * MAX_TOKENS_PER_SECOND)),
  }));
  // A window never outgrows the decoder's context: trim the budgets evenly if it would.
  const budget = plans.reduce((sum, plan) => sum + plan.maxTokens, 0);
  const overhead = UtteranceDecoder.maxNewTokens(plans) - budget;
  if (budget + overhead > room) {
    for (const plan of plans) plan.maxTokens = Math.max(1, Math.floor((plan.maxTokens * (room - overhead)) / budget));
  }
  const vocabulary = {
    eos: asr.tokenizer.convert_tokens_to_ids('<|endoftext|>') as number,
    timestampBegin: (asr.tokenizer.convert_tokens_to_ids('<|notimestamps|>') as number) + 1,
  };
  const decoder = new UtteranceDecoder(plans, vocabulary, prefix.tokens.length, (i, pieces) =>
    onUtterance(window.utterances[i]!, pieces),
  );
  const processors = new LogitsProcessorList();
  processors.push(decoder);
  const onAbort = () => decoder.stop();
  signal.addEventListener('abort', onAbort);
  await asr.model
    .generate({
      inputs: input_features,
      decoder_input_ids: prefix.tokens,
      logits_processor: processors,
      max_new_tokens: UtteranceDecoder.maxNewTokens(plans),
      no_repeat_ngram_size: NO_REPEAT_NGRAM_SIZE,
      repetition_penalty: REPETITION_PENALTY,
      return_timestamps: false,
    } as Parameters<typeof asr.model.generate>[0])
    .finally(() => signal.removeEventListener('abort', onAbort));
  signal.throwIfAborted();
}

function toSegments(
  asr: AutomaticSpeechRecognitionPipeline,
  window: DecodingWindow,
  utterance: Span,
  pieces: DecodedPiece[],
) {
  const time = (step: number) => window.start + step * TIMESTAMP_SECONDS;
  const ms = (seconds: number) => Math.round(seconds * 1000) / 1000;
  return pieces
    .map((piece, i) => ({
      // The utterance's own edges come from voice activity (finer than the 20 ms timestamp grid).
      start: ms(i === 0 ? utterance.start : Math.max(utterance.start, time(piece.startStep))),
      end: ms(i === pieces.length - 1 ? utterance.end : Math.min(utterance.end, time(piece.endStep))),
      text: asr.tokenizer.decode(piece.tokens, { skip_special_tokens: true }).trim(),
      speaker: null,
      confidence: confidence(piece.logprobs),
    }))
    .filter((segment) => segment.text.length > 0);
}

function failure(job: number, error: unknown, signal: AbortSignal): WorkerMessage {
  if (signal.aborted) return { type: 'failed', job, code: 'CANCELLED', message: 'the transcription was cancelled' };
  if (error instanceof TranscriptionError || error instanceof AudioDecodeError) {
    return { type: 'failed', job, code: error.code, message: error.message };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { type: 'failed', job, code: 'INTERNAL', message: `transcription failed: ${message}` };
}

const running = new Map<number, AbortController>();

port.on('message', async (message: JobMessage) => {
  if (message.type === 'cancel') return running.get(message.job)?.abort();
  const post = (reply: WorkerMessage) => port.postMessage(reply);
  const controller = new AbortController();
  running.set(message.job, controller);
  try {
    await transcribe(message, controller.signal, (event) => post({ type: 'event', job: message.job, event }));
    post({ type: 'finished', job: message.job });
  } catch (error) {
    post(failure(message.job, error, controller.signal));
  } finally {
    running.delete(message.job);
  }
});
