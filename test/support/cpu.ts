import { readFileSync } from 'node:fs';

/**
 * User + system CPU milliseconds a process has used so far, or its main thread alone (where a Node
 * program's JavaScript runs), from /proc: undefined where there is no /proc or no such process.
 */
export function cpuMs(pid: number | undefined, mainThread = false): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`;
    const fields = readFileSync(stat, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}
