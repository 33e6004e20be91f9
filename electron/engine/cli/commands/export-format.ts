import { EXPORT_FORMATS, type ExportFormat } from '../../contract/api.ts';
import { SwitchboardError } from '../../contract/errors.ts';

/** `--format` of `transcribe` and `meetings export`. */
export function parseExportFormat(value: string): ExportFormat {
  if ((EXPORT_FORMATS as readonly string[]).includes(value)) return value as ExportFormat;
  throw new SwitchboardError(
    'INVALID_REQUEST',
    `--format must be one of ${EXPORT_FORMATS.join(', ')} (got "${value}")`,
  );
}
