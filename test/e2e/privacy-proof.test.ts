import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOUD_PROVIDER, ensureRendererBuilt, repoRoot, requirePrerequisites } from './harness.ts';
import type { SessionMode, SessionResult } from './privacy-session.ts';

/**
 * The proof of "what leaves your machine" (README): a whole session — chat with the local model, a
 * meeting transcribed from a file, its summary, exports, the app in Chromium, the CLI — run inside a
 * network namespace that has only loopback, with every connect() (and every addressed send) of every
 * process traced by strace. A cloud provider is configured with a key all along.
 *
 * 1. Cloud fallback off: not one connection attempt to an address outside 127.0.0.0/8 and ::1, and the
 *    cloud provider (a fake on loopback, so the trace alone could not see it) receives nothing.
 * 2. Cloud fallback on, cloud processing for meetings off (the default): the cloud receives the chat
 *    sent to it, and not one byte of the meeting's audio or text.
 *
 * Chromium stands in for the user's browser; its own update and time checks are off in the session
 * (they are the browser's, not Switchboard's), and every request the page makes must go to the app.
 */

const SESSION = join(repoRoot, 'test', 'e2e', 'privacy-session.ts');
const SESSION_TIMEOUT_MS = 15 * 60_000;

function requireTool(tool: string, debianPackage: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  if (found.status !== 0) {
    throw new Error(
      `${tool} is missing: the privacy proof needs it (Debian package \`${debianPackage}\`, see scripts/setup.sh)`,
    );
  }
}

/** One traced connect() or send that named (or, on a connected socket, went to) an IPv4 or IPv6 peer. */
interface Contact {
  /** The program the calling thread runs (its own execve, or its parent's). */
  program: string;
  call: 'connect' | 'send';
  /** strace -yy's socket kind: TCP, TCPv6, UDP, UDPv6. */
  socket: string;
  address: string;
  port: number;
}

const SOCKET_CALL = /\b(connect|sendto|sendmsg|sendmmsg)\(\d+<([A-Za-z0-9]+):?([^>]*)>/;
const NAMED_PEER = /(?:sin6?_port=htons\((\d+)\)[^}]*?)(?:inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6?, "([^"]+)")/g;
const CONNECTED_PEER = /->\[?([0-9a-fA-F.:]+?)\]?:(\d+)$/;

// strace -f pads each line's pid to the width of the widest one so far ("9949  execve(…").
const EXECVE = /^(\d+) +execve\("([^"]+)"/;
const CLONED = /^(\d+) +(?:<\.\.\. )?(?:clone3?|fork|vfork)\b.*= (\d+)$/;

/** Every peer of every connect/sendto/sendmsg in an strace -f -yy log, with the program that made it. */
function contacts(trace: string): Contact[] {
  const parent = new Map<string, string>();
  const program = new Map<string, string>();
  const made: { tid: string; contact: Omit<Contact, 'program'> }[] = [];
  for (const line of trace.split('\n')) {
    const cloned = CLONED.exec(line);
    if (cloned) parent.set(cloned[2]!, cloned[1]!);
    const exec = EXECVE.exec(line);
    // Chromium starts its helpers as /proc/self/exe: they run the program of the process that started them.
    if (exec && exec[2] !== '/proc/self/exe' && !line.includes('= -1')) program.set(exec[1]!, exec[2]!);
    const call = SOCKET_CALL.exec(line);
    if (!call) continue;
    const tid = line.slice(0, line.indexOf(' '));
    const kind = call[1] === 'connect' ? 'connect' : 'send';
    const socket = call[2]!;
    for (const peer of line.matchAll(NAMED_PEER)) {
      made.push({ tid, contact: { call: kind, socket, address: (peer[2] ?? peer[3])!, port: Number(peer[1]) } });
    }
    // A send on a connected socket names no address; -yy shows where the socket is connected.
    const connected = kind === 'send' ? CONNECTED_PEER.exec(call[3]!) : null;
    if (connected) {
      made.push({ tid, contact: { call: kind, socket, address: connected[1]!, port: Number(connected[2]) } });
    }
  }
  // Resolved once the whole trace is read: a new thread can make its first calls before strace prints the
  // clone() that started it.
  const programOf = (tid: string): string => {
    for (let at: string | undefined = tid; at; at = parent.get(at)) {
      const known = program.get(at);
      if (known) return known;
    }
    return 'unknown';
  };
  return made.map(({ tid, contact }) => ({ program: programOf(tid), ...contact }));
}

function isLoopback(address: string): boolean {
  return /^127\./.test(address) || address === '::1' || /^::ffff:127\./.test(address);
}

/** Chromium, standing in for the user's browser. */
const isBrowser = (contact: Contact) => /chrom/.test(contact.program);

/**
 * Every contact outside loopback counts, with one exception: the browser's UDP connect()s. A UDP connect
 * sends nothing — it only picks a route — and is how Chromium's resolver checks whether IPv6 is reachable
 * (a connect to 2001:4860:4860::8888 that never sends); the browser is the user's, not Switchboard's. Its TCP
 * connects and sends still count, and so does every contact of Switchboard's own processes, UDP or not (a DNS
 * lookup is a UDP connect to the name server, then a send).
 */
function outsideContacts(traced: Contact[]): Contact[] {
  return traced.filter(
    (contact) =>
      !isLoopback(contact.address) &&
      !(isBrowser(contact) && contact.call === 'connect' && contact.socket.startsWith('UDP')),
  );
}

interface TracedSession {
  result: SessionResult;
  contacts: Contact[];
  output: string;
}

/** Runs privacy-session.ts in a fresh network namespace (loopback only) under strace -f. */
function runTracedSession(mode: SessionMode, dir: string): Promise<TracedSession> {
  const trace = join(dir, `${mode}.strace`);
  const resultFile = join(dir, `${mode}.json`);
  const inside = [
    'ip link set lo up',
    `exec strace -f -qq -yy -e trace=connect,sendto,sendmsg,sendmmsg,execve,clone,clone3,fork,vfork -o '${trace}' '${process.execPath}' '${SESSION}' ${mode} '${resultFile}'`,
  ].join(' && ');
  // As root (CI) a plain network namespace; otherwise a user namespace maps us to root inside it.
  const unshare = process.getuid?.() === 0 ? ['--net'] : ['--user', '--map-root-user', '--net'];
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', [...unshare, 'sh', '-c', inside], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), SESSION_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0)
        return reject(new Error(`the traced ${mode} session failed (exit ${code}):\n${output.slice(-4000)}`));
      resolve({
        result: JSON.parse(readFileSync(resultFile, 'utf8')) as SessionResult,
        contacts: contacts(readFileSync(trace, 'utf8')),
        output,
      });
    });
  });
}

let dir: string;
beforeAll(async () => {
  requirePrerequisites();
  requireTool('unshare', 'util-linux');
  requireTool('strace', 'strace');
  requireTool('ip', 'iproute2');
  await ensureRendererBuilt();
  dir = mkdtempSync(join(tmpdir(), 'switchboard-proof-'));
}, 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('what leaves your machine', { timeout: SESSION_TIMEOUT_MS + 60_000 }, () => {
  it('cloud fallback off: a whole session makes no connection outside loopback, and the cloud gets nothing', async () => {
    const { result, contacts } = await runTracedSession('cloud-off', dir);
    // The trace saw the session's own traffic — the browser and the CLI connecting to the app: it was looking.
    const appPort = Number(new URL(result.appOrigin).port);
    expect(
      contacts.filter((contact) => contact.socket.startsWith('TCP') && contact.port === appPort).length,
    ).toBeGreaterThan(1);
    expect(outsideContacts(contacts)).toEqual([]);
    expect(result.cloudRequests).toEqual([]);

    expect(result.chatFacts).toContain('on this machine');
    expect(result.shownTranscribedBy).toBe('Transcribed on this machine by whisper-tiny-random');
    expect(result.shownSummarizedBy).toBe('Summarized on this machine by stories260K');
    expect(result.markdownExport).toContain('- Transcribed on this machine by whisper-tiny-random');
    expect(result.markdownExport).toContain('- Summarized on this machine by stories260K');
    expect(result.exportFileMode).toBe('600');
    expect(result.pageProblems).toEqual([]);
    // The page asked nothing of any other origin (its browser's own checks are off, see privacy-session.ts).
    expect(result.pageOrigins.filter((origin) => origin !== result.appOrigin && origin !== 'null')).toEqual([]);
  });

  it('chat cloud fallback on, meetings cloud off: the cloud gets the chat, and not one byte of the meeting', async () => {
    const { result, contacts } = await runTracedSession('chat-cloud', dir);
    expect(outsideContacts(contacts)).toEqual([]);

    const chats = result.cloudRequests.filter((request) => request.path === '/v1/chat/completions');
    expect(chats.length).toBeGreaterThan(0);
    expect(chats.some((request) => request.body.includes(result.cloudChatPrompt!))).toBe(true);
    expect(result.cloudRequests.filter((request) => request.path.includes('/audio/'))).toEqual([]);
    expect(result.meeting.segmentTexts.length).toBeGreaterThan(0);
    for (const request of result.cloudRequests) {
      expect(request.body).not.toContain(result.meeting.title);
      for (const text of result.meeting.segmentTexts)
        expect(request.body).not.toContain(JSON.stringify(text).slice(1, -1));
    }
    expect(result.meeting.transcribedBy.every((p) => p.onMachine)).toBe(true);
    expect(result.meeting.summary?.producedBy?.every((p) => p.onMachine)).toBe(true);
    expect(result.shownSummarizedBy).not.toContain(CLOUD_PROVIDER.label);
  });
});
