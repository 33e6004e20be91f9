import { describe, expect, it } from 'vitest';
import { startTracing, tracesEndpoint } from '../../../electron/engine/operations/tracing.ts';

describe('trace export settings (the standard OTEL_* variables)', () => {
  it('is off without an OTLP endpoint, and when the SDK or the trace exporter is switched off', async () => {
    expect(await startTracing({})).toBeUndefined();
    const endpoint = 'http://127.0.0.1:4318';
    expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
    expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
  });

  it('appends /v1/traces to the base endpoint; a traces endpoint is taken as it is', () => {
    expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toBe(
      'http://collector:4318/v1/traces',
    );
    expect(
      tracesEndpoint({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:9999/ingest',
      }),
    ).toBe('http://traces:9999/ingest');
  });
});
