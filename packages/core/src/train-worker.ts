/**
 * Worker side of `trainAlone` (train-alone.ts): trains ONE model with `trainModels` on a wasm
 * backend of its own, with the threads it is given, and posts each epoch's progress and then the
 * parameters back. Messages are plain data (TrainWorkerRequest / TrainWorkerReply).
 */
import { selectBackend } from "./backend/select.ts";
import type { ModelSpec } from "./models/spec.ts";
import { Rng } from "./random.ts";
import { type NonFiniteLoss, NonFiniteLossError, type TrainConfig, type TrainProgress } from "./train.ts";
import { trainModels } from "./train-batched.ts";

export interface TrainWorkerRequest {
  spec: ModelSpec;
  init: Float32Array[];
  x: Float32Array;
  y: Int32Array;
  n: number;
  /** The job's Rng seed: trainModels only forks the job's Rng, so a new Rng of its seed is the same. */
  seed: number;
  cfg: TrainConfig;
  threads: number;
}

export type TrainWorkerReply =
  | ({ kind: "epoch" } & TrainProgress)
  | { kind: "done"; params: Float32Array[] }
  | { kind: "error"; message: string; nonFinite: NonFiniteLoss | null };

declare const self: Worker;

self.onmessage = async (event: MessageEvent<TrainWorkerRequest>) => {
  const r = event.data;
  try {
    await selectBackend({ backend: "wasm", threads: r.threads, quiet: true });
    const job = { init: r.init, data: { x: r.x, y: r.y, n: r.n }, rng: new Rng(r.seed) };
    const [params] = await trainModels(r.spec, [job], r.cfg, (_m, p) => {
      self.postMessage({ kind: "epoch", ...p } satisfies TrainWorkerReply);
    });
    const reply: TrainWorkerReply = { kind: "done", params: params! };
    self.postMessage(
      reply,
      params!.map((p) => p.buffer as ArrayBuffer),
    );
  } catch (err) {
    const reply: TrainWorkerReply = {
      kind: "error",
      message: (err as Error).message,
      nonFinite: err instanceof NonFiniteLossError ? err.where : null,
    };
    self.postMessage(reply);
  }
};
