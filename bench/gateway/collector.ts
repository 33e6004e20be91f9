/**
 * The OTLP/HTTP trace receiver of test/fakes/otlp.ts as its own process, so that a benchmark's CPU time holds
 * the exporter's work and not the receiver's. Prints `READY <url>`; when stdin ends, `RECEIVED <requests>
 * <attempts>` (the spans of each name it took in) and exits.
 */
import { startFakeCollector } from '../../test/fakes/otlp.ts';

const collector = await startFakeCollector();
process.stdout.write(`READY ${collector.url}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  const count = (name: string) => collector.spans.filter((span) => span.name === name).length;
  process.stdout.write(`RECEIVED ${count('switchboard.request')} ${count('switchboard.attempt')}\n`, () =>
    process.exit(0),
  );
});
