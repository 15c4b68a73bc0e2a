/**
 * Original models trained each ALONE: `trainModels` with one job, so a model's bits never depend on
 * which models were trained beside it or on the machine's thread count. On wasm with two or more
 * threads the models train in parallel, one worker thread per model (at most one per thread), each
 * with a single-threaded wasm backend of its own: 1.45x faster than the lockstep pair on two
 * threads (MNIST, 10 epochs: 10.2 s against 14.7 s), since most of a training step's kernels use
 * one thread anyway (the conv blocks' SIMD kernels) or scale badly to two (XNNPACK on convolutions
 * with one or ten channels). Elsewhere they train one after another on the main thread.
 */
import { currentBackend } from "./backend/select.ts";
import type { ModelSpec, Params } from "./models/spec.ts";
import { NonFiniteLossError, type TrainConfig, type TrainProgress } from "./train.ts";
import { type TrainJob, trainModels } from "./train-batched.ts";
import type { TrainWorkerReply, TrainWorkerRequest } from "./train-worker.ts";

/** How many models `trainAlone` trains at once on the current backend (1: on the main thread). */
export function aloneParallelism(models: number): number {
  const backend = currentBackend();
  if (backend?.backend !== "wasm" || typeof Worker === "undefined") return 1;
  return Math.max(1, Math.min(models, backend.threads));
}

/** The worker script beside this module: the source under Bun, the built .js in dist/ elsewhere. */
const WORKER_FILE = import.meta.url.endsWith(".ts") ? "./train-worker.ts" : "./train-worker.js";

/** One model trained in a worker thread with `threads` wasm threads; the worker joins `live`. */
function trainInWorker(
  spec: ModelSpec,
  job: TrainJob,
  cfg: TrainConfig,
  threads: number,
  onEpoch: (p: TrainProgress) => void,
  live: Set<Worker>,
): Promise<Params> {
  return new Promise<Params>((resolve, reject) => {
    const worker = new Worker(new URL(WORKER_FILE, import.meta.url).href);
    live.add(worker);
    worker.onmessage = (event: MessageEvent<TrainWorkerReply>) => {
      const r = event.data;
      if (r.kind === "epoch") {
        onEpoch(r);
        return;
      }
      worker.terminate();
      live.delete(worker);
      if (r.kind === "done") resolve(r.params);
      else reject(r.nonFinite ? new NonFiniteLossError(r.nonFinite) : new Error(r.message));
    };
    worker.onerror = (e) => {
      worker.terminate();
      live.delete(worker);
      reject(new Error(`training worker: ${e.message}`));
    };
    const request: TrainWorkerRequest = {
      spec,
      init: job.init,
      x: job.data.x,
      y: Int32Array.from(job.data.y),
      n: job.data.n,
      seed: job.rng.seed,
      cfg,
      threads,
    };
    worker.postMessage(request);
  });
}

/**
 * Trains each job's model alone (see the file comment); returns their parameters in job order.
 * `onEpoch(m, p)` reports model m's epochs. A NaN or infinite loss stops training with a
 * NonFiniteLossError naming the model, epoch and step.
 */
export async function trainAlone(
  spec: ModelSpec,
  jobs: readonly TrainJob[],
  cfg: TrainConfig,
  onEpoch?: (model: number, p: TrainProgress) => void,
): Promise<Params[]> {
  const M = jobs.length;
  // Each model trains as model 0 of 1; a failure names it in the whole group.
  const rename = (m: number) => (err: unknown) => {
    if (err instanceof NonFiniteLossError)
      throw new NonFiniteLossError({ ...err.where, model: m, models: M });
    throw err;
  };
  const parallel = aloneParallelism(M);
  const out: Params[] = new Array(M);
  if (parallel === 1) {
    for (const [m, job] of jobs.entries()) {
      const [params] = await trainModels(spec, [job], cfg, (_i, p) => onEpoch?.(m, p)).catch(rename(m));
      out[m] = params!;
    }
    return out;
  }
  const threadsEach = Math.max(1, Math.floor(currentBackend()!.threads / parallel));
  let next = 0;
  const live = new Set<Worker>();
  const lane = async () => {
    while (next < M) {
      const m = next++;
      out[m] = await trainInWorker(spec, jobs[m]!, cfg, threadsEach, (p) => onEpoch?.(m, p), live).catch(
        rename(m),
      );
    }
  };
  try {
    await Promise.all(Array.from({ length: parallel }, lane));
  } catch (err) {
    next = M; // start no more; stop the others
    for (const w of live) w.terminate();
    throw err;
  }
  return out;
}
