/**
 * Whether a process with this id still runs (signal 0 tests for it without sending anything). Used to
 * tell work a crashed process left behind (a claimed job, a scratch folder, a server record) from work a
 * live one is still doing.
 */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
