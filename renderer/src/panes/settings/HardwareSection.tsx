import { DetailsToggle } from '../../components/DetailsToggle.tsx';
import { formatBytes } from '../../lib/format.ts';
import { useSettings } from '../../stores/settings.ts';

const BACKEND_LABELS = { cuda: 'NVIDIA CUDA', vulkan: 'Vulkan', metal: 'Apple Metal', cpu: 'CPU only' } as const;

/** What runs the local models here, and why: a GPU backend, or plainly the CPU. */
export function HardwareSection() {
  const hardware = useSettings((state) => state.hardware);
  if (!hardware) return null;
  return (
    <section className="card hardware" aria-label="Hardware">
      <h2>Hardware</h2>
      <p className={hardware.fellBack ? 'warn-text' : undefined}>
        {hardware.explanation}
        {hardware.detail !== hardware.explanation && <DetailsToggle>{hardware.detail}</DetailsToggle>}
      </p>
      <dl className="facts">
        <dt>Runs on</dt>
        <dd>{BACKEND_LABELS[hardware.backend]}</dd>
        {hardware.devices.length > 0 && (
          <>
            <dt>Devices</dt>
            <dd>{hardware.devices.join(', ')}</dd>
          </>
        )}
        {hardware.backend !== 'cpu' && (
          <>
            <dt>GPU memory</dt>
            <dd>
              {formatBytes(hardware.vramFreeBytes)} free of {formatBytes(hardware.vramTotalBytes)}
            </dd>
          </>
        )}
        <dt>Memory</dt>
        <dd>
          {formatBytes(hardware.ramFreeBytes)} free of {formatBytes(hardware.ramTotalBytes)}
        </dd>
        <dt>CPU cores</dt>
        <dd>{hardware.cpuCores}</dd>
      </dl>
    </section>
  );
}
