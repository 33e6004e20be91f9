import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { WHISPER_CONFIG_FILES } from './catalog.ts';
import { LocalModelError } from './errors.ts';

const GGUF_MAGIC = 'GGUF';

/** Throws unless the file starts with the GGUF magic bytes. */
export async function assertGgufFile(path: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new LocalModelError('NOT_FOUND', `${path} cannot be read (${(error as NodeJS.ErrnoException).code})`, {
      cause: error,
    });
  }
  try {
    const magic = Buffer.alloc(4);
    const { bytesRead } = await handle.read(magic, 0, 4, 0);
    if (bytesRead < 4 || magic.toString('latin1') !== GGUF_MAGIC) {
      throw new LocalModelError('INVALID_REQUEST', `${path} is not a GGUF model file (it does not start with "GGUF")`);
    }
  } finally {
    await handle.close();
  }
}

/**
 * Throws unless the folder holds a Whisper model in the transformers.js layout: a config.json of
 * model_type whisper, the tokenizer/preprocessor files, and an encoder and decoder in onnx/.
 */
export async function assertWhisperFolder(path: string): Promise<void> {
  const missing: string[] = [];
  for (const name of WHISPER_CONFIG_FILES) {
    if (!(await isFile(join(path, name)))) missing.push(name);
  }
  const onnx = await readdir(join(path, 'onnx')).catch(() => [] as string[]);
  if (!onnx.some((name) => /^encoder_model.*\.onnx$/.test(name))) missing.push('onnx/encoder_model*.onnx');
  if (!onnx.some((name) => /^decoder_model_merged.*\.onnx$/.test(name)))
    missing.push('onnx/decoder_model_merged*.onnx');
  if (missing.length > 0) {
    throw new LocalModelError(
      'INVALID_REQUEST',
      `${path} is not a Whisper model folder in the transformers.js layout: missing ${missing.join(', ')}`,
    );
  }
  let modelType: unknown;
  try {
    modelType = JSON.parse(await readFile(join(path, 'config.json'), 'utf8')).model_type;
  } catch (error) {
    throw new LocalModelError('INVALID_REQUEST', `${path}/config.json is not valid JSON`, { cause: error });
  }
  if (modelType !== 'whisper') {
    throw new LocalModelError(
      'INVALID_REQUEST',
      `${path}/config.json describes a ${String(modelType)} model, not whisper`,
    );
  }
}

/**
 * Throws unless each file looks like an ONNX model: a protobuf ModelProto starts with its ir_version
 * field (tag 0x08). A download that is an HTML error page or a truncated file fails here, not in the runtime.
 */
export async function assertOnnxFiles(paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    const head = await readFile(path).then(
      (bytes) => bytes.subarray(0, 1),
      () => undefined,
    );
    if (!head) throw new LocalModelError('NOT_FOUND', `${path} is missing; pull the model again`);
    if (head[0] !== 0x08) throw new LocalModelError('INVALID_REQUEST', `${path} is not an ONNX model file`);
  }
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** Bytes a file or folder takes (following links to what they point at). */
export async function sizeOnDisk(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const entry of await readdir(path)) total += await sizeOnDisk(join(path, entry));
  return total;
}
