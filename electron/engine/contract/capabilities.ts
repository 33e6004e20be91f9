import { z } from 'zod';

/** What a provider can do; routing picks only providers that declare the capability a request needs. */
export const CAPABILITIES = [
  'text_generation',
  'chat',
  'code_generation',
  'translation',
  'summarization',
  'embedding',
  'transcription',
  'moderation',
  'image_generation',
  'audio_generation',
  'video_generation',
] as const;

export const capabilitySchema = z.enum(CAPABILITIES);
export type Capability = z.infer<typeof capabilitySchema>;

/** Capabilities an LLM chat endpoint has unless its config narrows them. */
export const CHAT_CAPABILITIES: readonly Capability[] = [
  'text_generation',
  'chat',
  'code_generation',
  'translation',
  'summarization',
];
