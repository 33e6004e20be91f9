export {
  createSpeakerDiarizer,
  type DiarizeRequest,
  type SpeakerDiarizer,
  type SpeakerDiarizerOptions,
  type SpeakerTurn,
} from './diarizer.ts';
export { DiarizationError } from './errors.ts';
export { listDiarizationModels } from './models.ts';
