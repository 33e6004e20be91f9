export { DEFAULT_SEGMENTER, type SegmenterOptions, type Span, SpeechSegmenter } from './segmenter.ts';
export { detectSpeech, FRAME_SAMPLES, VAD_SAMPLE_RATE, VoiceActivityDetector } from './silero.ts';
