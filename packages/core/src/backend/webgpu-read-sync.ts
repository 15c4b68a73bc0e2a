/**
 * Synchronous reads (`dataSync`, `arraySync`) for tfjs's WebGPU backend under Bun.
 *
 * tfjs 4.22 reads a GPU buffer synchronously by drawing it through `OffscreenCanvas`es, which Bun
 * does not have (ReferenceError). Under Dawn we can do a real synchronous read instead: copy the
 * buffer to a staging buffer, ask for the map, and process Dawn's events until the map callback
 * has run (bun-webgpu flips `mapState` inside that callback). Asynchronous reads (`data()`) stay
 * tfjs's own and remain the faster choice.
 */
import { tf } from "../tf.ts";

/** The parts of tfjs's WebGPUBackend this uses (internal, stable in 4.22). */
interface WebGpuBackendInternals {
  tensorMap: { get(dataId: object): { values?: unknown; dtype: string; resource?: unknown } };
  bufferManager: {
    acquireBuffer(size: number, usage: number): StagingBuffer;
    releaseBuffer(buffer: StagingBuffer): void;
  };
  commandEncoder: {
    copyBufferToBuffer(src: unknown, so: number, dst: unknown, d: number, size: number): void;
  };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  convertAndCacheOnCPU(dataId: object, values: tf.backend_util.BackendValues): tf.backend_util.BackendValues;
  readSync(dataId: object): tf.backend_util.BackendValues;
}

interface StagingBuffer {
  mapState: string;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
}

const MAP_READ = 0x0001; // GPUBufferUsage.MAP_READ
const COPY_DST = 0x0008; // GPUBufferUsage.COPY_DST
const MAP_MODE_READ = 0x0001; // GPUMapMode.READ
const TIMEOUT_MS = 120_000;

// Made on first use: a page without cross-origin isolation has no SharedArrayBuffer, and only
// Bun's event pump (never a page) reaches the spin below.
let pause: Int32Array | null = null;
function pauseCell(): Int32Array {
  pause ??= new Int32Array(new SharedArrayBuffer(4));
  return pause;
}

/**
 * Replaces `backend.readSync` with a Dawn-event-driven synchronous read. `processEvents` runs
 * Dawn's pending callbacks (wgpuInstanceProcessEvents).
 */
export function installSyncRead(backend: tf.KernelBackend, processEvents: () => void): void {
  const b = backend as unknown as WebGpuBackendInternals;
  const original = b.readSync.bind(b);
  const GpuBuffer = (globalThis as { GPUBuffer?: new () => unknown }).GPUBuffer;
  b.readSync = (dataId: object) => {
    const data = b.tensorMap.get(dataId);
    const plain = data.values == null && data.dtype !== "string" && data.dtype !== "complex64";
    if (!plain || !GpuBuffer || !(data.resource instanceof GpuBuffer)) return original(dataId);
    const source = data.resource as { size: number };
    const staging = b.bufferManager.acquireBuffer(source.size, COPY_DST | MAP_READ);
    b.ensureCommandEncoderReady();
    b.endComputePassEncoder();
    b.commandEncoder.copyBufferToBuffer(source, 0, staging, 0, source.size);
    b.submitQueue();
    let failure: unknown = null;
    staging.mapAsync(MAP_MODE_READ).catch((err: unknown) => {
      failure = err;
    });
    const start = performance.now();
    for (let spins = 0; staging.mapState === "pending"; spins++) {
      processEvents();
      if (spins > 100) Atomics.wait(pauseCell(), 0, 0, 0.05);
      if (performance.now() - start > TIMEOUT_MS) {
        throw new Error(`webgpu readSync: buffer map did not complete within ${TIMEOUT_MS / 1000} s`);
      }
    }
    if (staging.mapState !== "mapped") {
      throw new Error(
        `webgpu readSync: buffer map failed (${failure instanceof Error ? failure.message : failure})`,
      );
    }
    const bytes = staging.getMappedRange().slice(0);
    staging.unmap();
    b.bufferManager.releaseBuffer(staging);
    const values = tf.util.convertBackendValuesAndArrayBuffer(bytes, data.dtype as tf.DataType);
    return b.convertAndCacheOnCPU(dataId, values);
  };
}
