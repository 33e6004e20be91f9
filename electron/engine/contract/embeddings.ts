import { z } from 'zod';

export const embeddingRequestSchema = z.object({
  model: z.string().optional(),
  input: z.union([z.string(), z.array(z.string()).min(1)]),
  dimensions: z.number().int().positive().optional(),
  user: z.string().optional(),
});
export type EmbeddingRequest = z.infer<typeof embeddingRequestSchema>;

export interface EmbeddingResult {
  model: string;
  vectors: number[][];
  usage: { inputTokens: number; estimated: boolean };
}
