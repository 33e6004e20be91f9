import type { Span } from '@opentelemetry/api';
import { maskKey } from '../contract/errors.ts';
import type { AttemptScope } from '../routing/stage.ts';
import type { PipelineWatcher } from '../routing/watch.ts';

/** The trace export: a watcher of the routing pipeline, and the flush that must run before the process ends. */
export interface RequestTracing extends PipelineWatcher {
  /** Sends the spans still buffered and stops the exporter. */
  shutdown(): Promise<void>;
}

/** The service name when neither OTEL_SERVICE_NAME nor OTEL_RESOURCE_ATTRIBUTES names one. */
const SERVICE_NAME = 'switchboard';
/** How long one export may take: the shutdown waits for it, so it must not hold the process for long. */
const EXPORT_TIMEOUT_MS = 5_000;

/**
 * Where spans go, by the standard variables: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, else
 * OTEL_EXPORTER_OTLP_ENDPOINT with /v1/traces appended. Undefined: tracing is off.
 */
export function tracesEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true' || env.OTEL_TRACES_EXPORTER?.trim() === 'none') {
    return undefined;
  }
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined;
}

/**
 * OpenTelemetry traces of the requests the engine routes, exported over OTLP/HTTP (JSON) when the standard
 * OTEL_EXPORTER_OTLP_ENDPOINT is set: a `switchboard.request` span per request and a `switchboard.attempt`
 * child per call sent upstream. Without the variable nothing of OpenTelemetry is even loaded.
 *
 * Spans carry routing's facts only — route, provider, model, status, error code, tokens, cost, the key's
 * mask and the app key's id — never a prompt, an answer, an error's text (it may quote either) or a key.
 */
export async function startTracing(env: NodeJS.ProcessEnv): Promise<RequestTracing | undefined> {
  const url = tracesEndpoint(env);
  if (!url) return undefined;
  const [api, core, sdk, { OTLPTraceExporter }, resources, semconv, genAi] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/core'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/semantic-conventions'),
    import('@opentelemetry/semantic-conventions/incubating'),
  ]);
  // Ours as the default, the standard variables (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) over it.
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ [semconv.ATTR_SERVICE_NAME]: SERVICE_NAME }))
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new sdk.TracerProvider({
    resource,
    spanProcessors: [
      new sdk.BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url, timeoutMillis: EXPORT_TIMEOUT_MS }) }),
    ],
  });
  const tracer = provider.getTracer(SERVICE_NAME);
  // Not the global propagator: several engines may share a process (the app and its server, tests).
  const propagator = new core.W3CTraceContextPropagator();
  const { SpanKind, SpanStatusCode } = api;

  return {
    watch(scope) {
      const { request } = scope;
      // A caller that sent `traceparent` gets our spans in its trace; a malformed one is ignored (a new trace).
      const caller = request.traceHeaders
        ? propagator.extract(api.ROOT_CONTEXT, request.traceHeaders, api.defaultTextMapGetter)
        : api.ROOT_CONTEXT;
      const span = tracer.startSpan(
        'switchboard.request',
        {
          kind: SpanKind.INTERNAL,
          attributes: {
            'switchboard.operation': scope.kind,
            'switchboard.profile': scope.plan.profile.name,
            'switchboard.strategy': scope.plan.strategy,
            ...(request.route ? { [semconv.ATTR_HTTP_ROUTE]: request.route } : {}),
            ...(request.model ? { [genAi.ATTR_GEN_AI_REQUEST_MODEL]: request.model } : {}),
            ...(request.appKey ? { 'switchboard.app_key.id': request.appKey.id } : {}),
          },
        },
        caller,
      );
      const parent = api.trace.setSpan(caller, span);
      const attempts = new Map<AttemptScope, Span>();
      let sent = 0;
      return {
        refused(attempt, stage, code) {
          span.addEvent('switchboard.refused', {
            'switchboard.provider': attempt.candidate.provider.id,
            [genAi.ATTR_GEN_AI_REQUEST_MODEL]: attempt.candidate.model,
            'switchboard.stage': stage,
            [semconv.ATTR_ERROR_TYPE]: code,
          });
        },
        sent(attempt, retry) {
          const child = tracer.startSpan(
            'switchboard.attempt',
            {
              kind: SpanKind.CLIENT,
              attributes: {
                'switchboard.provider': attempt.candidate.provider.id,
                [genAi.ATTR_GEN_AI_REQUEST_MODEL]: attempt.candidate.model,
                'switchboard.attempt.index': sent++,
                'switchboard.attempt.retry': retry,
                'switchboard.attempt.fallback_depth': attempt.depth,
                ...(attempt.apiKey ? { 'switchboard.key.id': maskKey(attempt.apiKey) } : {}),
              },
            },
            parent,
          );
          attempts.set(attempt, child);
        },
        ended(attempt, end) {
          const child = attempts.get(attempt);
          if (!child) return;
          attempts.delete(attempt);
          child.setAttribute('switchboard.outcome', end.outcome);
          if (end.status !== undefined) child.setAttribute(semconv.ATTR_HTTP_RESPONSE_STATUS_CODE, end.status);
          if (end.verdict) child.setAttribute('switchboard.attempt.next', end.verdict);
          if (end.errorCode) {
            child.setAttribute(semconv.ATTR_ERROR_TYPE, end.errorCode);
            if (end.outcome === 'error') child.setStatus({ code: SpanStatusCode.ERROR, message: end.errorCode });
          }
          child.end();
        },
        fellBack(from, to, code) {
          span.addEvent('switchboard.fallback', {
            'switchboard.from_provider': from.provider.id,
            'switchboard.to_provider': to.provider.id,
            [semconv.ATTR_ERROR_TYPE]: code,
          });
        },
        finished(event) {
          span.setAttributes({
            'switchboard.provider': event.providerId,
            [genAi.ATTR_GEN_AI_RESPONSE_MODEL]: event.model,
            'switchboard.outcome': event.outcome,
            'switchboard.fallback_depth': event.fallbackDepth,
            'switchboard.attempts': sent,
            [genAi.ATTR_GEN_AI_USAGE_INPUT_TOKENS]: event.inputTokens,
            [genAi.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: event.outputTokens,
            'switchboard.tokens_estimated': event.tokensEstimated,
            'switchboard.cost_usd': event.costUsd,
            ...(event.keyId ? { 'switchboard.key.id': event.keyId } : {}),
          });
          if (event.errorCode) {
            span.setAttribute(semconv.ATTR_ERROR_TYPE, event.errorCode);
            if (event.outcome === 'error') span.setStatus({ code: SpanStatusCode.ERROR, message: event.errorCode });
          }
          // An attempt left open (a caller gone between two awaits) still ends with its request.
          for (const child of attempts.values()) child.end();
          span.end();
        },
      };
    },
    shutdown: () => provider.shutdown(),
  };
}
