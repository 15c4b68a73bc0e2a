/**
 * The owner's update rule as data: how a served model is updated with a new set. The paper's is
 * one epoch of SGD with momentum 0.9 at lr 0.001, batch 64 (`PAPER_UPDATE`); an owner may use
 * plain SGD (momentum 0), Adam, other batch sizes and several epochs. Also the `--update` spec
 * language of the CLI. No tensors here (the CLI's config loads it without tfjs): the optimiser
 * steps are in update-rule.ts.
 */
/** SGD with momentum (PyTorch's form), one epoch: the paper's kind of update and training. */
export interface SgdConfig {
  lr: number;
  momentum: number;
  batchSize: number;
}

/** The paper's optimiser: SGD lr 0.001, momentum 0.9, batch 64. */
export const PAPER_SGD: SgdConfig = { lr: 0.001, momentum: 0.9, batchSize: 64 };

/** SGD, with momentum (PyTorch's: dampening 0, no Nesterov) or without (momentum 0). */
export interface SgdRule extends SgdConfig {
  optimizer: "sgd";
  /** Passes over the new set (>= 1). */
  epochs: number;
}

/** Adam (Kingma and Ba), bias-corrected, no weight decay; tfjs's `tf.train.adam`. */
export interface AdamRule {
  optimizer: "adam";
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  batchSize: number;
  /** Passes over the new set (>= 1). */
  epochs: number;
}

/** How the owner updates its model with a new set. */
export type UpdateRule = SgdRule | AdamRule;

/** The paper's update: one epoch of SGD, lr 0.001, momentum 0.9, batch 64. */
export const PAPER_UPDATE: SgdRule = { optimizer: "sgd", ...PAPER_SGD, epochs: 1 };

/** Adam's usual settings (lr 0.001, betas 0.9 and 0.999, epsilon 1e-8), one epoch at batch 64. */
export const ADAM_DEFAULT: AdamRule = {
  optimizer: "adam",
  lr: 0.001,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  batchSize: 64,
  epochs: 1,
};

/**
 * The rule an `SgdConfig` (one epoch of SGD with its momentum) or a rule stands for, checked:
 * a bad field throws naming it, `where` and what was expected.
 */
export function toUpdateRule(c: SgdConfig | UpdateRule, where = "update rule"): UpdateRule {
  const rule: UpdateRule = "optimizer" in c ? c : { optimizer: "sgd", ...c, epochs: 1 };
  const bad = (field: string, want: string, got: unknown) =>
    new Error(`${where}: ${field} must be ${want}, got ${JSON.stringify(got)}`);
  if (rule.optimizer !== "sgd" && rule.optimizer !== "adam") {
    throw bad("optimizer", '"sgd" or "adam"', (rule as { optimizer: unknown }).optimizer);
  }
  if (!(Number.isFinite(rule.lr) && rule.lr >= 0)) throw bad("lr", "a finite number >= 0", rule.lr);
  if (!(Number.isInteger(rule.batchSize) && rule.batchSize >= 1)) {
    throw bad("batchSize", "an integer >= 1", rule.batchSize);
  }
  if (!(Number.isInteger(rule.epochs) && rule.epochs >= 1))
    throw bad("epochs", "an integer >= 1", rule.epochs);
  if (rule.optimizer === "sgd") {
    if (!(Number.isFinite(rule.momentum) && rule.momentum >= 0 && rule.momentum < 1)) {
      throw bad("momentum", "in [0, 1)", rule.momentum);
    }
  } else {
    if (!(rule.beta1 >= 0 && rule.beta1 < 1)) throw bad("beta1", "in [0, 1)", rule.beta1);
    if (!(rule.beta2 >= 0 && rule.beta2 < 1)) throw bad("beta2", "in [0, 1)", rule.beta2);
    if (!(Number.isFinite(rule.epsilon) && rule.epsilon > 0))
      throw bad("epsilon", "a number > 0", rule.epsilon);
  }
  return rule;
}

/** The `--update` spec language, for help texts. */
export const UPDATE_SYNTAX =
  "sgd[:LR[:MOMENTUM[:BATCH[:EPOCHS]]]] or adam[:LR[:BATCH[:EPOCHS]]] (defaults: the paper's sgd:0.001:0.9:64:1; adam:0.001:64:1 with betas 0.9, 0.999 and epsilon 1e-8)";

/**
 * A rule from its spec (`sgd:0.01:0:32:3`, `adam:0.001`): omitted trailing numbers take the
 * paper's values (SGD) or Adam's usual ones. Throws naming the bad part and what is expected.
 */
export function parseUpdateRule(spec: string): UpdateRule {
  const [name, ...parts] = spec.trim().split(":");
  const num = (i: number, field: string, fallback: number): number => {
    const raw = parts[i];
    if (raw === undefined || raw === "") return fallback;
    const v = Number(raw);
    if (!Number.isFinite(v))
      throw new Error(`update rule "${spec}": ${field} must be a number, got "${raw}"`);
    return v;
  };
  let rule: UpdateRule;
  if (name === "sgd") {
    if (parts.length > 4)
      throw new Error(`update rule "${spec}": sgd takes at most 4 numbers; ${UPDATE_SYNTAX}`);
    rule = {
      optimizer: "sgd",
      lr: num(0, "LR", PAPER_UPDATE.lr),
      momentum: num(1, "MOMENTUM", PAPER_UPDATE.momentum),
      batchSize: num(2, "BATCH", PAPER_UPDATE.batchSize),
      epochs: num(3, "EPOCHS", PAPER_UPDATE.epochs),
    };
  } else if (name === "adam") {
    if (parts.length > 3)
      throw new Error(`update rule "${spec}": adam takes at most 3 numbers; ${UPDATE_SYNTAX}`);
    rule = {
      ...ADAM_DEFAULT,
      lr: num(0, "LR", ADAM_DEFAULT.lr),
      batchSize: num(1, "BATCH", ADAM_DEFAULT.batchSize),
      epochs: num(2, "EPOCHS", ADAM_DEFAULT.epochs),
    };
  } else {
    throw new Error(`update rule "${spec}": unknown optimiser "${name}"; expected ${UPDATE_SYNTAX}`);
  }
  return toUpdateRule(rule, `update rule "${spec}"`);
}

/** The canonical spec of a rule (every number written): `parseUpdateRule` reads it back. */
export function formatUpdateRule(rule: UpdateRule): string {
  if (
    rule.optimizer === "adam" &&
    (rule.beta1 !== ADAM_DEFAULT.beta1 ||
      rule.beta2 !== ADAM_DEFAULT.beta2 ||
      rule.epsilon !== ADAM_DEFAULT.epsilon)
  ) {
    throw new Error(
      "formatUpdateRule: the spec language has no betas or epsilon; only Adam's defaults can be written",
    );
  }
  return rule.optimizer === "sgd"
    ? `sgd:${rule.lr}:${rule.momentum}:${rule.batchSize}:${rule.epochs}`
    : `adam:${rule.lr}:${rule.batchSize}:${rule.epochs}`;
}
