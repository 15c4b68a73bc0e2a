/** Adam over a fixed list of variables (core's fused `adamUpdate`). Deterministic. */
import { tf } from "@updates-leak/core";
import { adamUpdate } from "@updates-leak/core/internal";

/** Adam. weightDecay is PyTorch's coupled L2 (grad += weightDecay * param), as torch.optim.Adam. */
export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
}

/** PyTorch's Adam defaults. */
export const ADAM_DEFAULTS: AdamConfig = {
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  weightDecay: 0,
};

/**
 * What an `AdamStep`'s next steps depend on besides its variables: the steps taken (the bias
 * correction counts them), the learning rate, and each variable's first and second moments.
 */
export interface AdamState {
  t: number;
  lr: number;
  /** Per variable, in `params` order, its moments in the variable's shape (row-major). */
  moments: { m: Float32Array; v: Float32Array }[];
}

/**
 * One Adam instance over a fixed list of variables: core's `adamUpdate` per variable, one kernel
 * call each on wasm and cpu (tfjs's optimiser spends about 14 ops per variable, half the ops of an
 * A_LI training step), the same formulation in tensor ops elsewhere.
 */
export class AdamStep {
  private moments: { m: tf.Tensor; v: tf.Tensor }[];
  private lr: number;
  private t = 0;
  constructor(
    readonly params: tf.Variable[],
    readonly cfg: AdamConfig,
  ) {
    if (!(cfg.lr > 0)) throw new Error(`AdamConfig.lr must be > 0, got ${cfg.lr}`);
    if (!(cfg.weightDecay >= 0))
      throw new Error(`AdamConfig.weightDecay must be >= 0, got ${cfg.weightDecay}`);
    this.lr = cfg.lr;
    // Kept: an AdamStep may be made or stepped inside a caller's tf.tidy, and its moments outlive it.
    this.moments = params.map((p) => ({ m: tf.keep(tf.zerosLike(p)), v: tf.keep(tf.zerosLike(p)) }));
  }

  /** Sets the learning rate of the next steps (a schedule). */
  setLearningRate(lr: number): void {
    if (!(lr >= 0)) throw new Error(`AdamStep: learning rate must be >= 0, got ${lr}`);
    this.lr = lr;
  }

  /** Computes loss and gradients, applies one update, returns the loss (caller disposes). */
  step(lossFn: () => tf.Scalar): tf.Scalar {
    const { value, grads } = tf.variableGrads(lossFn, this.params);
    try {
      this.t++;
      const attrs = { ...this.cfg, lr: this.lr, step: this.t };
      this.params.forEach((p, i) => {
        const g = grads[p.name];
        if (!g) throw new Error(`AdamStep: no gradient for variable ${p.name}`);
        const mv = this.moments[i] as { m: tf.Tensor; v: tf.Tensor };
        const [p2, m2, v2] = adamUpdate(p, g, mv.m, mv.v, attrs);
        p.assign(p2);
        p2.dispose();
        mv.m.dispose();
        mv.v.dispose();
        mv.m = tf.keep(m2);
        mv.v = tf.keep(v2);
      });
    } finally {
      for (const k of Object.keys(grads)) grads[k]?.dispose();
    }
    return value;
  }

  /** A copy of the state (`AdamState`), read back from the moments (one sync per tensor). */
  state(): AdamState {
    return {
      t: this.t,
      lr: this.lr,
      moments: this.moments.map(({ m, v }) => ({
        m: (m.dataSync() as Float32Array).slice(),
        v: (v.dataSync() as Float32Array).slice(),
      })),
    };
  }

  /**
   * Takes on `s` (e.g. a checkpoint's `state()`): the next `step` is the one this instance would
   * take after the steps `s` describes. Throws, changing nothing, when the moments do not fit
   * `params`.
   */
  restore(s: AdamState): void {
    if (!Number.isInteger(s.t) || s.t < 0) throw new Error(`AdamStep.restore: bad step count ${s.t}`);
    if (!(s.lr >= 0)) throw new Error(`AdamStep.restore: bad learning rate ${s.lr}`);
    if (s.moments.length !== this.params.length) {
      throw new Error(
        `AdamStep.restore: ${s.moments.length} moment pairs for ${this.params.length} variables`,
      );
    }
    this.params.forEach((p, i) => {
      const mv = s.moments[i] as AdamState["moments"][number];
      if (mv.m.length !== p.size || mv.v.length !== p.size) {
        throw new Error(`AdamStep.restore: the moments of variable ${i} do not have its ${p.size} values`);
      }
    });
    this.dispose();
    this.moments = this.params.map((p, i) => {
      const mv = s.moments[i] as AdamState["moments"][number];
      return { m: tf.keep(tf.tensor(mv.m.slice(), p.shape)), v: tf.keep(tf.tensor(mv.v.slice(), p.shape)) };
    });
    this.t = s.t;
    this.lr = s.lr;
  }

  dispose(): void {
    for (const { m, v } of this.moments) {
      m.dispose();
      v.dispose();
    }
    this.moments = [];
  }
}
