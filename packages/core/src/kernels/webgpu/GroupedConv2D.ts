/**
 * `GroupedConv2D` for the WebGPU backend (ops/grouped.ts): every group's convolution in ONE shader
 * dispatch. Without it, WebGPU ran the plain formulation: split the input, one conv2d and one bias
 * add per group, concat, so about 2G + 2 dispatches per grouped conv (over 400 for a 203-model
 * chunk's conv2, and again in each of its gradients), where the engine asks for a few ops per
 * layer whatever the number of models.
 *
 * x [G*B, H, W, C], w [G, k, k, C, O], bias [G, O] (optional), attr pad (zero padding on every
 * side) -> y [G*B, H+2p-k+1, W+2p-k+1, O]. One invocation per output value sums its k*k*C
 * products in (ky, kx, c) order, skipping taps outside the input (they would add zeros), then adds
 * the bias. A direct convolution, the same for every group count; its values equal the per-group
 * conv2d's up to float32 rounding (ops/grouped.test.ts runs on every available backend).
 */
import type { WebGPUProgram } from "@tensorflow/tfjs-backend-webgpu";
import { groupedConvCall } from "../../ops/grouped.ts";
import { tf } from "../../tf.ts";
import { GROUPED_CONV2D } from "../names.ts";

/** Invocations per workgroup, along x (a flat dispatch: the backend folds x over y and z past the limit). */
const WORKGROUP = 64;

class GroupedConv2DProgram implements WebGPUProgram {
  variableNames: string[];
  uniforms = "pad : i32, groupBatch : i32, k : i32,";
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  size = true;
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  shaderKey: string;
  private readonly hasBias: boolean;

  constructor(outputShape: number[], hasBias: boolean) {
    this.outputShape = outputShape;
    this.hasBias = hasBias;
    this.variableNames = hasBias ? ["x", "w", "bias"] : ["x", "w"];
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    const size = tf.util.sizeFromShape(outputShape);
    this.dispatch = [Math.ceil(size / WORKGROUP), 1, 1];
    this.shaderKey = `groupedConv2d_${hasBias}`;
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let coords = getCoordsFromIndex(index);
          let n = coords[0];
          let g = n / uniforms.groupBatch;
          var acc = 0.0;
          for (var ky = 0; ky < uniforms.k; ky = ky + 1) {
            let iy = coords[1] + ky - uniforms.pad;
            if (iy < 0 || iy >= uniforms.xShape[1]) { continue; }
            for (var kx = 0; kx < uniforms.k; kx = kx + 1) {
              let ix = coords[2] + kx - uniforms.pad;
              if (ix < 0 || ix >= uniforms.xShape[2]) { continue; }
              for (var c = 0; c < uniforms.xShape[3]; c = c + 1) {
                acc = acc + getX(n, iy, ix, c) * getW(g * uniforms.k + ky, kx, c, coords[3]);
              }
            }
          }
          ${this.hasBias ? "acc = acc + getBias(g, coords[3]);" : ""}
          setOutputAtIndex(index, acc);
        }
      }
    `;
  }
}

interface WebGpuBackendLike {
  runWebGPUProgram(
    program: WebGPUProgram,
    inputs: tf.TensorInfo[],
    dtype: "float32",
    uniforms?: { type: string; data: number[] }[],
  ): tf.TensorInfo;
  disposeData(dataId: object): void;
}

function groupedConv2D(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as WebGpuBackendLike;
  const { x, w, bias, pad, outShape, G, B, C, k, O } = groupedConvCall(args);
  // Rank-4 filters [G*k, k, C, O]: the shader's getters cover rank 4 in every tfjs-webgpu version.
  const reshape = tf.getKernel("Reshape", "webgpu")!;
  const w4 = reshape.kernelFunc({
    inputs: { x: w },
    backend: args.backend as object,
    attrs: { shape: [G * k, k, C, O] },
  }) as tf.TensorInfo;
  try {
    const program = new GroupedConv2DProgram(outShape, bias !== undefined);
    const inputs = bias ? [x, w4, bias] : [x, w4];
    return backend.runWebGPUProgram(program, inputs, "float32", [
      { type: "int32", data: [pad] },
      { type: "int32", data: [B] },
      { type: "int32", data: [k] },
    ]);
  } finally {
    backend.disposeData(w4.dataId);
  }
}

/** The kernel's config (register_all_kernels.ts registers it). */
export const groupedConv2DConfig: tf.KernelConfig = {
  kernelName: GROUPED_CONV2D,
  backendName: "webgpu",
  kernelFunc: groupedConv2D as tf.KernelFunc,
};
