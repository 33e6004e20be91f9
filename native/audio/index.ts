export { type Capture, type CaptureInput, type CaptureOptions, captureAudio, defaultCapture } from './capture.ts';
export { type DecodedAudio, type DecodeOptions, decodeAudio, SAMPLE_RATE } from './decode.ts';
export { AudioDecodeError } from './errors.ts';
export { ffmpegPath } from './ffmpeg.ts';
export { resample } from './resample.ts';
export { finishWav, WAV_HEADER_BYTES, wavHeader } from './wav-writer.ts';
