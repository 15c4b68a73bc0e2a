/**
 * The one import point for TensorFlow.js in this project. tfjs-core alone registers no
 * gradients, so every package imports `tf` from here (never from "@tensorflow/tfjs-core"
 * directly) and gets gradients and the cpu reference backend registered exactly once.
 */
// tfjs-core first: where the gradients come bundled (Node, Deno), the engine and Tensor class must
// be tfjs-core's own, made when it loads, not the bundle's copies.
import "@tensorflow/tfjs-core";
import "#tfjs-gradients";
import "@tensorflow/tfjs-backend-cpu";

export type { Rank, Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, TensorLike } from "@tensorflow/tfjs-core";
export * as tf from "@tensorflow/tfjs-core";
