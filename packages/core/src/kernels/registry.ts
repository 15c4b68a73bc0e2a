/**
 * The kernel registry's one write path: a backend's kernels of ours, registered when the backend
 * starts (backend/wasm.ts, backend/webgpu.ts, backend/select.ts for cpu), never on import. Each
 * backend's list lives in kernels/<backend>/register_all_kernels.ts; this records what was
 * registered, for the backend report.
 */
import { tf } from "../tf.ts";

/** The backends that have kernels of ours. */
export type KernelBackend = "wasm" | "webgpu" | "cpu";

const registered = new Map<KernelBackend, readonly string[]>();

/**
 * Registers `configs()` for `backend`, each in place of any kernel of that name there (tfjs's own),
 * once per process: a later call returns the names registered the first time. `configs` runs only
 * once, so that it may capture the package kernels it replaces first.
 */
export function registerKernels(backend: KernelBackend, configs: () => readonly tf.KernelConfig[]): string[] {
  const known = registered.get(backend);
  if (known) return [...known];
  const list = configs();
  const stray = list.find((c) => c.backendName !== backend);
  if (stray) {
    throw new Error(
      `registerKernels: kernel '${stray.kernelName}' is for backend '${stray.backendName}', not '${backend}'`,
    );
  }
  for (const config of list) {
    if (tf.getKernel(config.kernelName, backend)) tf.unregisterKernel(config.kernelName, backend);
    tf.registerKernel(config);
  }
  const names = list.map((c) => c.kernelName);
  registered.set(backend, names);
  return [...names];
}

/** The kernels of ours registered for `backend` so far, in registration order (empty before it starts). */
export function registeredKernels(backend: KernelBackend): string[] {
  return [...(registered.get(backend) ?? [])];
}
