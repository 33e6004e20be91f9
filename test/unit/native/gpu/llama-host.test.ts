import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { detectHardware, getLlamaHost, LlamaHost, parseLocalDevice } from '../../../../native/gpu/llama-host.ts';
import { storiesGguf } from '../models/shared-data.ts';

describe('GPU detection', () => {
  it('reports the CPU cleanly on a machine without a GPU', async () => {
    const status = await detectHardware({ device: 'auto', threads: 1 });
    expect(status.backend).toBe('cpu');
    expect(status.gpuDevices).toEqual([]);
    expect(status.vram).toBeNull();
    expect(status.ram.totalBytes).toBeGreaterThan(0);
    expect(status.ram.freeBytes).toBeGreaterThan(0);
    expect(status.cpu.threads).toBeGreaterThan(0);
    expect(status.cpu.cores).toBeGreaterThan(0);
    expect(status.cpu.model.length).toBeGreaterThan(0);
    expect(status.fallbackReason).toBeUndefined();
    expect(status.explanation).toBe('No GPU found: models run on the CPU with 1 thread.');
    expect(status.summary).toBe(status.explanation);
  });

  it.skipIf(process.platform === 'darwin')(
    'says so when LOCAL_DEVICE=metal is asked for where Metal cannot exist, instead of running on the CPU silently',
    async () => {
      const status = await new LlamaHost('metal', 1).status();
      expect(status.backend).toBe('cpu');
      expect(status.fallbackReason).toMatch(/LOCAL_DEVICE=metal asks for Apple Metal, which exists only on macOS/);
      expect(status.explanation).toMatch(/runs on the CPU instead\.$/);
      // The app's sentence names no setting: people did not type LOCAL_DEVICE, an operator did.
      expect(status.summary).toBe(
        'This computer is set to use Apple Metal, which exists only on Macs, so models run on the CPU with 1 thread.',
      );
    },
  );

  it('falls back to the CPU and says why when a forced GPU backend cannot start', async () => {
    const host = new LlamaHost('cuda', 1);
    const model = await host.loadModel({ modelPath: storiesGguf() });
    try {
      expect(model.llama.gpu).toBe(false);
      const status = await host.status();
      expect(status.requested).toBe('cuda');
      expect(status.backend).toBe('cpu');
      expect(status.fallbackReason).toMatch(/LOCAL_DEVICE=cuda asks for NVIDIA CUDA, but it cannot start here/);
      expect(status.explanation).not.toMatch(/NoBinaryFoundError/);
      expect(status.summary).toBe(
        'This computer is set to use NVIDIA CUDA, but it cannot start here, so models run on the CPU with 1 thread.',
      );
    } finally {
      await model.dispose();
    }
  });

  it('reads LOCAL_DEVICE values and rejects unknown ones', () => {
    expect(parseLocalDevice(undefined)).toBe('auto');
    expect(parseLocalDevice('CUDA')).toBe('cuda');
    expect(() => parseLocalDevice('tpu')).toThrow(/LOCAL_DEVICE=tpu is not one of auto\|cpu\|cuda\|vulkan\|metal/);
  });

  it('takes the device and thread count from LOCAL_DEVICE and LOCAL_THREADS, sharing one host per setting', () => {
    const host = getLlamaHost({}, { LOCAL_DEVICE: 'cpu', LOCAL_THREADS: '3' });
    expect([host.device, host.threads]).toEqual(['cpu', 3]);
    expect(getLlamaHost({ device: 'cpu', threads: 3 })).toBe(host);
    // One core stays free for the app itself.
    expect(getLlamaHost({}, { LOCAL_DEVICE: 'vulkan' }).threads).toBe(Math.max(1, os.availableParallelism() - 1));
  });
});
