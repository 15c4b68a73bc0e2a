/**
 * BatchMatMul for tfjs-backend-wasm 4.22 that keeps to the package's fast path. The package's
 * kernel reaches XNNPACK only for one matrix product without transposes; with `transposeA` or
 * `transposeB` it is 10-17x slower, and with a batch > 1 it runs a plain loop (a few GFLOP/s).
 * Here:
 *  - transposes are made explicit with the package's Transpose, choosing the cheaper of
 *    op(A)·op(B) and (op(B)^T·op(A)^T)^T by the number of elements to transpose (for a dense
 *    layer's dx = dy·W^T the second moves dy and dx instead of the big W);
 *  - a batch with a shared right operand becomes one product ([batch*M, K] x [K, N]);
 *  - other batches run one package product per batch entry (operands copied out of the batch on
 *    the heap) when each product is big enough (`MIN_LOOP_FLOPS`) to outweigh the call cost;
 *  - anything else (one product without transposes, small batched products, broadcasts other
 *    than a shared operand, non-float32) goes to the package's kernel unchanged.
 * Each output element is still one XNNPACK dot product, as on the package's fast path.
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { sizeFromShape } from "../../shape.ts";
import { tf } from "../../tf.ts";
import {
  copyF32,
  type KernelArgs,
  release,
  replacingPackageKernel,
  runPackageKernel,
  swapLastTwoPerm,
  type TensorInfo,
} from "./kernel-utils.ts";

export const KERNEL_NAME = "BatchMatMul";

/** Below this many multiply-adds per product, a batch loop costs more than the package's loop. */
export const MIN_LOOP_FLOPS = 32 * 32 * 32;

function transposeLastTwo(backend: BackendWasm, x: TensorInfo): TensorInfo {
  return runPackageKernel("Transpose", backend, { x }, { perm: swapLastTwoPerm(x.shape.length) });
}

function plainProduct(backend: BackendWasm, a: TensorInfo, b: TensorInfo): TensorInfo {
  return runPackageKernel("BatchMatMul", backend, { a, b }, { transposeA: false, transposeB: false });
}

/** Whether `batchedProduct` handles these operands' batch layout efficiently. */
function layoutSupported(outerA: number[], outerB: number[], flops: number): boolean {
  const batchA = sizeFromShape(outerA);
  const batchB = sizeFromShape(outerB);
  if (batchB === 1) return true; // one product (or one folded product)
  if (flops < MIN_LOOP_FLOPS) return false;
  if (batchA === 1) return true;
  return outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
}

/** a [..., M, K] x b [..., K, N] without transposes, for a layout `layoutSupported` accepts. */
function batchedProduct(backend: BackendWasm, a: TensorInfo, b: TensorInfo): TensorInfo {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const [M, K, N] = [a.shape[ra - 2]!, a.shape[ra - 1]!, b.shape[rb - 1]!];
  const outShape = [...tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB), M, N];
  const batchA = sizeFromShape(outerA);
  const batchB = sizeFromShape(outerB);
  if (batchB === 1) {
    // [batchA*M, K] x [K, N]: reshapes share the data.
    const a2 = runPackageKernel("Reshape", backend, { x: a }, { shape: [batchA * M, K] });
    const b2 = runPackageKernel("Reshape", backend, { x: b }, { shape: [K, N] });
    const prod = plainProduct(backend, a2, b2);
    release(backend, a2, b2);
    const out = runPackageKernel("Reshape", backend, { x: prod }, { shape: outShape });
    release(backend, prod);
    return out;
  }
  const out = backend.makeOutput(outShape, "float32");
  const aI =
    batchA === 1
      ? runPackageKernel("Reshape", backend, { x: a }, { shape: [M, K] })
      : backend.makeOutput([M, K], "float32");
  for (let i = 0; i < batchB; i++) {
    if (batchA !== 1) copyF32(backend, a, i * M * K, aI, 0, M * K);
    // A fresh right operand each time: the package caches XNNPACK's packed weights by the right
    // operand's tensor id, so refilling one buffer would reuse stale weights.
    const bI = backend.makeOutput([K, N], "float32");
    copyF32(backend, b, i * K * N, bI, 0, K * N);
    const prod = plainProduct(backend, aI, bI);
    copyF32(backend, prod, 0, out, i * M * N, M * N);
    release(backend, prod, bI);
  }
  release(backend, aI);
  return out;
}

function batchMatMul(args: KernelArgs): TensorInfo | null {
  const backend = args.backend as BackendWasm;
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
  if (a.dtype !== "float32" || b.dtype !== "float32") return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const M = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const K = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const N = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const kB = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  if (K !== kB) return null; // the package kernel reports the shape error
  const single = sizeFromShape(outerA) === 1 && sizeFromShape(outerB) === 1;
  if (single && !transposeA && !transposeB) return null;

  // Elements to transpose: direct op(A)·op(B), or swapped (op(B)^T·op(A)^T)^T.
  const sizeA = sizeFromShape(a.shape);
  const sizeB = sizeFromShape(b.shape);
  const sizeOut = sizeFromShape(outerA.length >= outerB.length ? outerA : outerB) * M * N;
  const direct = (transposeA ? sizeA : 0) + (transposeB ? sizeB : 0);
  const swapped = (transposeA ? 0 : sizeA) + (transposeB ? 0 : sizeB) + sizeOut;
  const swap = swapped < direct && layoutSupported(outerB, outerA, M * K * N);
  if (!swap && !layoutSupported(outerA, outerB, M * K * N)) return null;

  const made: TensorInfo[] = [];
  const prepared = (x: TensorInfo, transpose: boolean) => {
    if (!transpose) return x;
    const t = transposeLastTwo(backend, x);
    made.push(t);
    return t;
  };
  let out: TensorInfo;
  if (swap) {
    const outT = batchedProduct(backend, prepared(b, !transposeB), prepared(a, !transposeA));
    out = transposeLastTwo(backend, outT);
    release(backend, outT);
  } else {
    out = batchedProduct(backend, prepared(a, transposeA), prepared(b, transposeB));
  }
  release(backend, ...made);
  return out;
}

export const batchMatMulConfig = replacingPackageKernel(KERNEL_NAME, batchMatMul);
