/**
 * Captures the microphone (and, for a call, the other side: a browser tab's or the system's audio) as
 * 16-bit PCM at 16 kHz, interleaved as channels me, them, in quarter-second chunks. The AudioContext
 * resamples the devices to 16 kHz; the worklet (public/pcm-capture.js) hands the samples over.
 */
export const CAPTURE_SAMPLE_RATE = 16_000;
const CHUNK_FRAMES = CAPTURE_SAMPLE_RATE / 4;

export interface LiveCapture {
  channels: 1 | 2;
  stop(): void;
}

export class CaptureError extends Error {}

function microphoneError(error: unknown): string {
  const name = error instanceof DOMException ? error.name : '';
  if (name === 'NotAllowedError') return 'Microphone access was refused. Allow it for Switchboard and try again.';
  if (name === 'NotFoundError') return 'No microphone was found. Connect one and try again.';
  return `The microphone could not start${error instanceof Error ? `: ${error.message}` : ''}.`;
}

/**
 * The other side of the call. In the desktop app on Linux: the PulseAudio/PipeWire monitor of the output
 * (Chromium lists it as an input, "Monitor of …"). Elsewhere: what the screen-share picker offers with
 * audio — a browser tab ("Share tab audio"), or the whole system where the desktop app asks for loopback.
 */
async function otherSide(desktop: boolean): Promise<MediaStream> {
  if (desktop && navigator.userAgent.includes('Linux')) {
    const devices = await navigator.mediaDevices.enumerateDevices();
    const monitor = devices.find((d) => d.kind === 'audioinput' && /^Monitor of /i.test(d.label));
    if (monitor) return navigator.mediaDevices.getUserMedia({ audio: { deviceId: { exact: monitor.deviceId } } });
  }
  let shared: MediaStream;
  try {
    shared = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: true });
  } catch (error) {
    throw new CaptureError(
      error instanceof DOMException && error.name === 'NotAllowedError'
        ? 'Sharing the other side of the call was cancelled.'
        : `The call's audio could not be shared${error instanceof Error ? `: ${error.message}` : ''}.`,
    );
  }
  for (const track of shared.getVideoTracks()) track.stop();
  if (shared.getAudioTracks().length === 0) {
    throw new CaptureError('No audio came with that choice: share a browser tab with "Share tab audio" turned on.');
  }
  return shared;
}

/** Starts capturing; `onChunk` gets each quarter second of interleaved samples, in order. */
export async function startCapture(options: {
  call: boolean;
  desktop: boolean;
  onChunk: (pcm: Int16Array) => void;
}): Promise<LiveCapture> {
  let microphone: MediaStream;
  try {
    microphone = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, channelCount: 1 },
    });
  } catch (error) {
    throw new CaptureError(microphoneError(error));
  }
  const streams = [microphone];
  try {
    if (options.call) streams.push(await otherSide(options.desktop));
  } catch (error) {
    for (const track of microphone.getTracks()) track.stop();
    throw error;
  }
  const channels = streams.length as 1 | 2;
  const context = new AudioContext({ sampleRate: CAPTURE_SAMPLE_RATE });
  await context.audioWorklet.addModule('/pcm-capture.js');
  const worklet = new AudioWorkletNode(context, 'pcm-capture', {
    numberOfInputs: 1,
    numberOfOutputs: 0,
    channelCount: channels,
    channelCountMode: 'explicit',
    channelInterpretation: channels === 1 ? 'speakers' : 'discrete',
  });
  // Each source is mixed to mono on its own input of the merger: channel 0 is me, channel 1 them.
  const merger = context.createChannelMerger(channels);
  for (const [i, stream] of streams.entries()) context.createMediaStreamSource(stream).connect(merger, 0, i);
  merger.connect(worklet);

  let pending = new Int16Array(CHUNK_FRAMES * channels);
  let filled = 0;
  worklet.port.onmessage = (event: MessageEvent<Float32Array[][]>) => {
    for (const block of event.data) {
      const frames = block[0]!.length;
      for (let i = 0; i < frames; i++) {
        for (let c = 0; c < channels; c++) {
          const sample = block[c]?.[i] ?? 0;
          pending[filled++] = Math.max(-32768, Math.min(32767, Math.round(sample * 32768)));
        }
        if (filled === pending.length) {
          options.onChunk(pending);
          pending = new Int16Array(CHUNK_FRAMES * channels);
          filled = 0;
        }
      }
    }
  };
  let stopped = false;
  return {
    channels,
    stop() {
      if (stopped) return;
      stopped = true;
      worklet.port.onmessage = null;
      if (filled > 0) options.onChunk(pending.slice(0, filled));
      for (const stream of streams) for (const track of stream.getTracks()) track.stop();
      void context.close();
    },
  };
}

/** Base64 of the samples' bytes (little-endian, as every platform this runs on stores them). */
export function pcmBase64(pcm: Int16Array): string {
  const bytes = new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
