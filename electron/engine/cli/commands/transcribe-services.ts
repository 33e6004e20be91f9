import type { TranscribeFn } from '../../meetings/queue.ts';
import type { Store } from '../../store/store.ts';

/** What `transcribe` and `record` need; the CLI context builds it on first use. */
export interface TranscribeCliServices {
  store: Store;
  /** The Engine's transcribe as a TranscribeFn (transcribeThrough(engine)). */
  transcribe: TranscribeFn;
  /** The data dir's audio folder. */
  audioDir: string;
}
