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
  LogitsProcessor,
  LogitsProcessorList,
  pipeline,
  type Tensor,
} from '@huggingface/transformers';
import { AudioDecodeError, decodeAudio, SAMPLE_RATE } from '../audio/index.ts';
import { detectSpeech, type Span } from '../vad/index.ts';
import { confidence, type DecodedPiece, TIMESTAMP_SECONDS, UtteranceDecoder, type UtterancePlan } from './decoding.ts';
import { devicesToTry, type ExecutionDevice, unavailableReason, type WhisperDevice } from './devices.ts';
import { TranscriptionError } from './errors.ts';
import type { Dtype } from './models.ts';
import type { TranscriptionEvent, TranscriptionRequest } from './types.ts';
import { type DecodingWindow, planWindows } from './windows.ts';
import { timeWords } from './words.ts';

export type JobMessage =
  | {
      type: 'transcribe';
      job: number;
      model: { id: string; dir: string; dtype: Dtype };
      threads?: number;
      device: WhisperDevice;
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

interface LoadedModel {
  key: string;
  asr: AutomaticSpeechRecognitionPipeline;
  /** Where it runs, and why not on the device asked for (if it does not). */
  device: ExecutionDevice;
  fallback?: string;
}
let loaded: LoadedModel | undefined;

/** Loads the model on the first device of the list that works: the GPU asked for, else the CPU. */
async function load(
  model: TranscribeMessage['model'],
  threads: number | undefined,
  device: WhisperDevice,
): Promise<LoadedModel> {
  const key = `${model.dir}|${model.dtype}|${threads ?? ''}|${device}`;
  if (loaded?.key === key) return loaded;
  await loaded?.asr.dispose();
  loaded = undefined;
  // Offline only: models come from the folder the user installed them in, never from a hub.
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = path.dirname(model.dir);
  const skipped: string[] = [];
  for (const candidate of devicesToTry(device)) {
    const reason = unavailableReason(candidate);
    if (reason) {
      skipped.push(`${candidate}: ${reason}`);
      continue;
    }
    try {
      const asr = (await pipeline('automatic-speech-recognition', path.basename(model.dir), {
        dtype: model.dtype,
        device: candidate,
        session_options: {
          ...(threads ? { intraOpNumThreads: threads } : {}),
          interOpNumThreads: 1,
          // Idle onnxruntime threads spin-wait by default, burning cores that a desktop app shares with its UI
          // (and, on a busy machine, slowing the run itself).
          extra: { session: { intra_op: { allow_spinning: '0' } } },
        },
      })) as AutomaticSpeechRecognitionPipeline;
      loaded = { key, asr, device: candidate, ...(skipped.length ? { fallback: skipped.join('; ') } : {}) };
      return loaded;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (candidate !== 'cpu') {
        skipped.push(`${candidate}: ${message}`);
        continue;
      }
      throw new TranscriptionError(
        'MODEL_NOT_INSTALLED',
        `the Whisper model "${model.id}" (${model.dtype}) in ${model.dir} could not be loaded ` +
          `(${message}); its files may be damaged: download it again`,
        { cause: error },
      );
    }
  }
  throw new TranscriptionError('INTERNAL', `no device could run Whisper (${skipped.join('; ')})`);
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
  if (request.endAt !== undefined && !(request.endAt > startAt)) {
    throw new TranscriptionError('INVALID_REQUEST', `endAt must be after startAt (got ${request.endAt})`);
  }
  const audio = await decodeAudio(request.filePath, {
    signal,
    from: startAt,
    to: request.endAt,
    channel: request.channel,
  });
  const total = audio.durationSeconds;
  const end = Math.min(total, request.endAt ?? total);
  let processed = Math.min(startAt, end);
  let reported = -1;
  const progress = (seconds: number) => {
    processed = Math.min(end, Math.max(processed, seconds));
    if (processed === reported) return;
    reported = processed;
    emit({ type: 'progress', fraction: end > 0 ? processed / end : 1, processedSeconds: processed, totalSeconds: end });
  };
  progress(processed);

  const base = audio.startSeconds;
  const utterances = (await detectSpeech(audio.samples)).map((span) => ({
    start: span.start + base,
    end: span.end + base,
  }));
  const windows = planWindows(utterances);
  const requested = requestedLanguage(request.language);
  let language = requested ?? 'en';
  let device: ExecutionDevice | undefined;
  let fallback: string | undefined;
  // A recording with no speech never reaches the model, so it cannot hallucinate text into the silence.
  if (windows.length > 0) {
    const model = await load(message.model, message.threads, message.device);
    ({ device, fallback } = model);
    const { asr } = model;
    const stretch = (window: Span) =>
      audio.samples.subarray(
        Math.floor((window.start - base) * SAMPLE_RATE),
        Math.ceil((window.end - base) * SAMPLE_RATE),
      );
    language = checkLanguage(asr, requested) ?? (await detectLanguage(asr, stretch(windows[0]!)));
    const prefix = decoderPrefix(asr, request.prompt, language);
    let index = 0;
    for (const [w, window] of windows.entries()) {
      signal.throwIfAborted();
      await decodeWindow(asr, prefix, stretch(window), window, signal, (utterance, pieces) => {
        for (const segment of toSegments(asr, window, utterance, pieces)) {
          emit({ type: 'segment', segment: { ...segment, index: index++ } });
        }
        progress(utterance.end);
      });
      progress(windows[w + 1]?.start ?? end);
    }
  }
  progress(end);
  emit({
    type: 'done',
    durationSeconds: total,
    language,
    model: message.model.id,
    ...(device ? { device } : {}),
    ...(fallback ? { deviceNote: fallback } : {}),
  });
}

/** The language asked for, lower-cased; undefined for none or "auto" (detect it). */
function requestedLanguage(language: string | undefined): string | undefined {
  const code = language?.trim().toLowerCase();
  return !code || code === 'auto' ? undefined : code === 'english' ? 'en' : code;
}

interface WhisperGenerationConfig {
  decoder_start_token_id: number;
  is_multilingual?: boolean;
  lang_to_id?: Record<string, number>;
}

/** Language token ids and their codes: the config's table, else the tokenizer's <|xx|> tokens. */
function languageTokens(asr: AutomaticSpeechRecognitionPipeline): Map<number, string> {
  const config = asr.model.generation_config as unknown as WhisperGenerationConfig;
  const table = config.lang_to_id;
  if (table) return new Map(Object.entries(table).map(([token, id]) => [id, token.slice(2, -2)]));
  const { tokenizer } = asr;
  const first = config.decoder_start_token_id + 1;
  const last = tokenizer.convert_tokens_to_ids('<|translate|>') as number;
  const tokens = new Map<number, string>();
  for (let id = first; id < last; id++) {
    const token = /^<\|([a-z]{2,3}|haw|yue)\|>$/.exec(tokenizer.decode([id], { skip_special_tokens: false }));
    if (token) tokens.set(id, token[1]!);
  }
  return tokens;
}

/**
 * The language to transcribe in, when it is known: English for an English-only model (which refuses
 * another), the asked-for one for a multilingual model (which must know it); undefined: detect it.
 */
function checkLanguage(asr: AutomaticSpeechRecognitionPipeline, requested: string | undefined): string | undefined {
  const config = asr.model.generation_config as unknown as WhisperGenerationConfig;
  if (!config.is_multilingual) {
    if (requested && requested !== 'en') {
      throw new TranscriptionError(
        'INVALID_REQUEST',
        `this Whisper model understands English only; choose a multilingual model to transcribe "${requested}"`,
      );
    }
    return 'en';
  }
  if (requested && ![...languageTokens(asr).values()].includes(requested)) {
    throw new TranscriptionError(
      'INVALID_REQUEST',
      `unknown language "${requested}"; use a language code such as "en", "de" or "fr", or "auto" to detect it`,
    );
  }
  return requested;
}

/** Lets only the given tokens be chosen. */
class OnlyTokens extends LogitsProcessor {
  private readonly allowed: Set<number>;
  constructor(allowed: Iterable<number>) {
    super();
    this.allowed = new Set(allowed);
  }
  override _call(_inputIds: bigint[][], logits: Tensor): Tensor {
    const scores = logits.data as Float32Array;
    for (let t = 0; t < scores.length; t++) if (!this.allowed.has(t)) scores[t] = Number.NEGATIVE_INFINITY;
    return logits;
  }
}

/**
 * Whisper's own language identification: after <|startoftranscript|> the model's next token is the
 * language it hears; its most likely language token, on the first window of speech, decides.
 */
async function detectLanguage(asr: AutomaticSpeechRecognitionPipeline, audio: Float32Array): Promise<string> {
  const tokens = languageTokens(asr);
  const config = asr.model.generation_config as unknown as WhisperGenerationConfig;
  const { input_features } = (await asr.processor(audio)) as { input_features: Tensor };
  const processors = new LogitsProcessorList();
  processors.push(new OnlyTokens(tokens.keys()));
  const output = (await asr.model.generate({
    inputs: input_features,
    decoder_input_ids: [config.decoder_start_token_id],
    logits_processor: processors,
    max_new_tokens: 1,
    return_timestamps: false,
  } as Parameters<typeof asr.model.generate>[0])) as Tensor;
  const chosen = Number((output.tolist() as bigint[][])[0]!.at(-1));
  return tokens.get(chosen) ?? 'en';
}

interface DecoderPrefix {
  tokens: number[];
}

/** [<|startofprev|> prompt…] <|startoftranscript|> [<|lang|> <|transcribe|>] — timestamps on. */
function decoderPrefix(
  asr: AutomaticSpeechRecognitionPipeline,
  prompt: string | undefined,
  language: string,
): DecoderPrefix {
  const { tokenizer } = asr;
  const config = asr.model.generation_config as unknown as WhisperGenerationConfig;
  const id = (token: string) => tokenizer.convert_tokens_to_ids(token) as number;
  const tokens: number[] = [];
  if (prompt?.trim()) {
    const words = tokenizer.encode(` ${prompt.trim()}`, { add_special_tokens: false });
    tokens.push(id('<|startofprev|>'), ...words.slice(-MAX_PROMPT_TOKENS));
  }
  tokens.push(config.decoder_start_token_id);
  if (config.is_multilingual) tokens.push(id(`<|${language}|>`), id('<|transcribe|>'));
  return { tokens };
}

async function decodeWindow(
  asr: AutomaticSpeechRecognitionPipeline,
  prefix: DecoderPrefix,
  audio: Float32Array,
  window: DecodingWindow,
  signal: AbortSignal,
  onUtterance: (utterance: Span, pieces: DecodedPiece[]) => void,
): Promise<void> {
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
  const decode = (tokens: number[]) => asr.tokenizer.decode(tokens, { skip_special_tokens: true });
  return pieces
    .map((piece, i) => {
      // The utterance's own edges come from voice activity (finer than the 20 ms timestamp grid).
      const start = ms(i === 0 ? utterance.start : Math.max(utterance.start, time(piece.startStep)));
      const end = ms(i === pieces.length - 1 ? utterance.end : Math.min(utterance.end, time(piece.endStep)));
      const times = piece.times.map((step) => (step === undefined ? undefined : time(step)));
      return {
        start,
        end,
        text: decode(piece.tokens).trim(),
        speaker: null,
        confidence: confidence(piece.logprobs),
        words: timeWords({ tokens: piece.tokens, times, start, end }, decode),
      };
    })
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
