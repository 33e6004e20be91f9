// First: the runtime must never start with its telemetry on.
import '../onnx-runtime/no-telemetry.ts';

export { type ExecutionDevice, platformGpu, type WhisperDevice, whisperDeviceFor } from './devices.ts';
export { TranscriptionError, type TranscriptionErrorCode } from './errors.ts';
export { availableDtypes, type Dtype, type InstalledModel, listInstalledModels } from './models.ts';
export { createWhisperTranscriber } from './transcriber.ts';
export type {
  LocalTranscriber,
  Quantization,
  TranscriptionEvent,
  TranscriptionRequest,
  TranscriptSegment,
  WhisperTranscriberOptions,
} from './types.ts';
