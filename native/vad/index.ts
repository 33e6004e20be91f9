// First: the runtime must never start with its telemetry on.
import '../onnx-runtime/no-telemetry.ts';

export { DEFAULT_SEGMENTER, type SegmenterOptions, type Span, SpeechSegmenter } from './segmenter.ts';
export { detectSpeech, FRAME_SAMPLES, VAD_SAMPLE_RATE, VoiceActivityDetector } from './silero.ts';
