/**
 * Model specs for tests only: a small CNN whose first conv is followed by a dropout2d, not the
 * paper models' pool and ReLU, so the engine's probe layer must regroup the models model-major at
 * the first other layer. A wrong regrouping fails the tests that use it.
 */
import type { ModelSpec } from "./spec.ts";

export const regroupAtDropout: ModelSpec = {
  name: "test-cnn-conv-dropout2d-conv",
  inputShape: [10, 10, 2],
  numClasses: 5,
  layers: [
    { kind: "conv", in: 2, out: 6, k: 3 },
    { kind: "dropout2d", p: 0.5 },
    { kind: "relu" },
    { kind: "conv", in: 6, out: 4, k: 3 },
    { kind: "flatten" },
    { kind: "dense", in: 144, out: 5 },
  ],
};
