// First: the runtime must never start with its telemetry on.
import '../onnx-runtime/no-telemetry.ts';

export {
  createSpeakerDiarizer,
  type DiarizeRequest,
  type SpeakerDiarizer,
  type SpeakerDiarizerOptions,
  type SpeakerTurn,
} from './diarizer.ts';
export { DiarizationError } from './errors.ts';
export { listDiarizationModels } from './models.ts';
