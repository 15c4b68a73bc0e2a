/**
 * The one fitting skeleton of the models trained by gradient on rows: the attack heads behind the
 * encoder (A_LI, A_LDE, A_SSR) and the autoencoder A_SSR borrows its decoder from. `fitDeltaModel`
 * checks the rows (then the trainer's own checks), fits the delta preprocessing on the training
 * rows, builds the model from `rng.fork("init")`, keeps inputs and targets on the backend, trains
 * minibatches with `rng.fork("train")` and disposes the model if training fails; the fitted model
 * predicts in chunks. The loop itself (shuffling, learning-rate schedule, per-epoch progress, the
 * stop on a NaN or infinite loss) is nn/train.ts's `trainMinibatches`.
 *
 * A trainer brings what differs: its model (`build`), its loss, its output transform (softmax for
 * the classifiers) and its checks. CBM-GAN trains two models in turn and keeps its own loop.
 */
import { type Rng, tf } from "@updates-leak/core";
import {
  createEncoderWithHead,
  type DeltaPreprocessing,
  type DeltaScaler,
  ENCODER_DEFAULTS,
  type EncoderConfig,
  fitDeltaScaler,
} from "./encoder.ts";
import { ADAM_DEFAULTS, type AdamConfig } from "./nn/adam.ts";
import { disposeMlp, type ForwardMode, type Mlp, mlpForward, mlpParams, trainMode } from "./nn/mlp.ts";
import { predictRows } from "./nn/predict.ts";
import { checkRows, DeviceRows } from "./nn/rows.ts";
import { type EpochReport, type LrSchedule, type TrainHistory, trainMinibatches } from "./nn/train.ts";

type T2 = tf.Tensor2D;

/** Training and prediction settings of every model fitted here. */
export interface FitSettings {
  epochs: number;
  batchSize: number;
  adam: AdamConfig;
  /** Learning rate over the run; undefined = "constant". */
  lrSchedule?: LrSchedule;
  /** Rows per forward pass at prediction time. */
  predictChunk: number;
  onEpoch?: (r: EpochReport) => void;
}

/**
 * Settings shared by the attack heads behind the encoder (A_LI, A_SSR, A_LDE). Each head keeps its
 * own defaults, with the measurements behind its choices, next to its trainer.
 */
export interface AttackHeadConfig extends FitSettings {
  encoder: EncoderConfig;
  /** Delta preprocessing, fitted on the shadow deltas only. The paper feeds raw delta ("none"). */
  preprocessing: DeltaPreprocessing;
}

/**
 * The defaults the attack heads share [choice]: the paper's encoder, batch 64, PyTorch's Adam,
 * 1024 rows per prediction pass. Each head adds its preprocessing and epochs (and may override).
 */
export const HEAD_DEFAULTS: Omit<AttackHeadConfig, "preprocessing" | "epochs"> = {
  encoder: ENCODER_DEFAULTS,
  batchSize: 64,
  adam: ADAM_DEFAULTS,
  predictChunk: 1024,
};

/** A trainable model: its parameters, its forward pass, and how to free it. */
export interface FitModel {
  params: tf.Variable[];
  /** Training calls it with trainMode and dataInput (x is data); prediction with neither (eval). */
  forward(x: T2, mode?: ForwardMode, dataInput?: boolean): T2;
  dispose(): void;
}

/** One MLP as a FitModel. */
export function mlpModel(mlp: Mlp): FitModel {
  return {
    params: mlpParams(mlp),
    forward: (x, mode, dataInput) => mlpForward(mlp, x, mode, dataInput),
    dispose: () => disposeMlp(mlp),
  };
}

/**
 * The classifier of A_LI and A_LDE, as `build`, `outWidth` and `output` of a FitSpec: the encoder
 * and a linear layer of `classes` logits; softmax probabilities at prediction time.
 */
export function encoderClassifier(deltaSize: number, classes: number, encoder: EncoderConfig) {
  return {
    build: (rng: Rng) => mlpModel(createEncoderWithHead(rng, deltaSize, classes, encoder)),
    outWidth: classes,
    output: (logits: T2) => tf.softmax(logits),
  };
}

/** `first` then `second` as one FitModel (the autoencoder; A_SSR's front and decoder). */
export function chainedModel(first: Mlp, second: Mlp): FitModel {
  return {
    params: [...mlpParams(first), ...mlpParams(second)],
    forward: (x, mode, dataInput) => mlpForward(second, mlpForward(first, x, mode, dataInput), mode),
    dispose: () => {
      disposeMlp(first);
      disposeMlp(second);
    },
  };
}

/** Named rows [n, width]; `what` completes error messages ("trainLabelAttack deltas: ..."). */
export interface NamedRows<A extends Float32Array | Int32Array = Float32Array> {
  what: string;
  data: A;
  width: number;
}

/** One minibatch, as the loss sees it. */
export interface FitBatch {
  /** Input rows, preprocessed. */
  x: T2;
  /** The same rows of `targets`, or null without targets. */
  y: T2 | null;
  indices: Int32Array;
}

/**
 * What a trainer hands `fitDeltaModel`: its rows and targets, checks, preprocessing, settings,
 * model builder, loss and prediction output.
 */
export interface FitSpec<M extends FitModel> {
  /** The trainer, first words of every row error ("trainLabelAttack"). */
  name: string;
  /** Names the loss in errors ("A_LI"). */
  label: string;
  n: number;
  /** Training inputs: deltas, or the autoencoder's samples (with preprocessing "none"). */
  input: NamedRows;
  /** Float targets kept on the backend beside the inputs, handed to the loss as `y`. */
  targets?: NamedRows;
  /** Targets only checked for size; the loss reads them itself (A_LI's integer labels). */
  hostTargets?: NamedRows<Int32Array>;
  /** The trainer's own checks (label range, histogram sums), after the size checks. */
  validate?: () => void;
  preprocessing: DeltaPreprocessing;
  settings: FitSettings;
  /** Seeds `build` (fork "init") and the training loop (fork "train"). */
  rng: Rng;
  build(rng: Rng): M;
  /** The batch loss of the model's output (training mode). */
  loss(out: T2, batch: FitBatch): tf.Scalar;
  /** Output width at prediction time. */
  outWidth: number;
  /** Applied to the model's output at prediction time (softmax for the classifiers). */
  output?: (out: T2) => T2;
}

/**
 * What `fitDeltaModel` returns: the trained model (the caller disposes it), the fitted delta
 * scaler, the training history and a chunked `predict`.
 */
export interface FittedModel<M extends FitModel> {
  model: M;
  scaler: DeltaScaler;
  history: TrainHistory;
  /** Outputs for raw input rows [m, input width], preprocessed as in training: [m, outWidth]. */
  predict(rows: Float32Array, m: number): Float32Array;
}

function checkSpec<M extends FitModel>(spec: FitSpec<M>): void {
  for (const r of [spec.input, spec.targets, spec.hostTargets]) {
    if (r) checkRows(`${spec.name} ${r.what}`, r.data, spec.n, r.width);
  }
  spec.validate?.();
}

/** Trains `model` on x (preprocessed inputs) and the spec's targets. */
function trainModel<M extends FitModel>(spec: FitSpec<M>, model: M, x: Float32Array): TrainHistory {
  const { n, input, targets, settings: c } = spec;
  const xRows = new DeviceRows(`${spec.name} ${input.what}`, x, n, input.width);
  let yRows: DeviceRows | null = null;
  try {
    if (targets) yRows = new DeviceRows(`${spec.name} ${targets.what}`, targets.data, n, targets.width);
    const rows = yRows;
    return trainMinibatches(
      n,
      model.params,
      (ctx) => {
        const xb = xRows.take(ctx.indices);
        const y = rows ? rows.take(ctx.indices) : null;
        return spec.loss(model.forward(xb, trainMode(ctx.rng), true), { x: xb, y, indices: ctx.indices });
      },
      {
        epochs: c.epochs,
        batchSize: c.batchSize,
        adam: c.adam,
        rng: spec.rng.fork("train"),
        label: spec.label,
        onEpoch: c.onEpoch,
        lrSchedule: c.lrSchedule,
      },
    );
  } finally {
    xRows.dispose();
    yRows?.dispose();
  }
}

/** Fits a model on rows (see the file comment); the model is disposed if training throws. */
export function fitDeltaModel<M extends FitModel>(spec: FitSpec<M>): FittedModel<M> {
  checkSpec(spec);
  const { n, input } = spec;
  const scaler = fitDeltaScaler(spec.preprocessing, input.data, n, input.width);
  const x = scaler.apply(input.data, n);
  const model = spec.build(spec.rng.fork("init"));
  let history: TrainHistory;
  try {
    history = trainModel(spec, model, x);
  } catch (e) {
    model.dispose();
    throw e;
  }
  const output = spec.output ?? ((out: T2) => out);
  return {
    model,
    scaler,
    history,
    predict: (rows, m) =>
      predictRows(scaler.apply(rows, m), m, input.width, spec.outWidth, spec.settings.predictChunk, (xb) =>
        output(model.forward(xb)),
      ),
  };
}
