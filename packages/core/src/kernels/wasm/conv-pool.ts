/**
 * The conv block's pool and sparse gradient (ops/conv-pool.ts) in plain JavaScript: the path where
 * WebAssembly SIMD is missing, and the reference the SIMD kernels (simd/kernels.wat) are tested
 * against bit for bit. Every product and sum is one float32 operation (Math.fround), in the
 * order the SIMD kernels use, and ties and NaN follow the same rules.
 */

import type { GroupedConvDims } from "../../ops/grouped.ts";

/** The block's sizes: G groups of B samples, x [G*B, H, W, C], filters k x k, O channels out. */
export type ConvPoolDims = GroupedConvDims;

const f32 = Math.fround;

/**
 * z [GB, 2ph, 2pw, O] (the conv's output), mask [GB, O] or null -> y [GB, ph, pw, O] =
 * relu(window max) * mask and idx (the window's winner, 2 * row + column: the first strictly
 * greatest in row-major order; 0 where none is, all NaN or -Infinity). A window holding a NaN
 * gives y = NaN.
 */
export function poolReluMaskJs(
  z: Float32Array,
  mask: Float32Array | null,
  y: Float32Array,
  idx: Int32Array,
  GB: number,
  ph: number,
  pw: number,
  O: number,
): void {
  const zRow = 2 * pw * O;
  let out = 0;
  for (let n = 0; n < GB; n++) {
    for (let pi = 0; pi < ph; pi++) {
      for (let pj = 0; pj < pw; pj++) {
        const base = (2 * (n * ph + pi) * 2 * pw + 2 * pj) * O;
        for (let o = 0; o < O; o++, out++) {
          const i0 = base + o;
          let best = Number.NEGATIVE_INFINITY;
          let at = 0;
          if (z[i0]! > best) best = z[i0]!;
          if (z[i0 + O]! > best) {
            best = z[i0 + O]!;
            at = 1;
          }
          if (z[i0 + zRow]! > best) {
            best = z[i0 + zRow]!;
            at = 2;
          }
          if (z[i0 + zRow + O]! > best) {
            best = z[i0 + zRow + O]!;
            at = 3;
          }
          // A window holding a NaN gives NaN (so a diverged model's loss turns NaN); otherwise
          // -0 becomes +0, as f32x4.max does.
          const nan =
            Number.isNaN(z[i0]) ||
            Number.isNaN(z[i0 + O]) ||
            Number.isNaN(z[i0 + zRow]) ||
            Number.isNaN(z[i0 + zRow + O]);
          const relu = nan ? Number.NaN : Math.max(best, 0);
          y[out] = mask ? f32(relu * mask[n * O + o]!) : relu;
          idx[out] = at;
        }
      }
    }
  }
}

/**
 * Copies between filters [G, k, k, C, O] and their transposed layout [G, O, k, stride] (rows of
 * k*C values, `stride` apart): `toT` true fills `t` from `w`, false fills `w` from `t`.
 */
function mapFilters(w: Float32Array, t: Float32Array, d: ConvPoolDims, stride: number, toT: boolean): void {
  const { G, k, C, O } = d;
  const kC = k * C;
  for (let g = 0; g < G; g++) {
    for (let ky = 0; ky < k; ky++) {
      for (let c = 0; c < kC; c++) {
        const wi = ((g * k + ky) * kC + c) * O;
        for (let o = 0; o < O; o++) {
          const ti = ((g * O + o) * k + ky) * stride + c;
          if (toT) t[ti] = w[wi + o]!;
          else w[wi + o] = t[ti]!;
        }
      }
    }
  }
}

/** w [G, k, k, C, O] -> wT [G, O, k, stride] (rows of k*C values, `stride` apart). */
export function transposeFilters(
  w: Float32Array,
  d: ConvPoolDims,
  out: Float32Array,
  stride = d.k * d.C,
): void {
  mapFilters(w, out, d, stride, true);
}

/** dwT [G, O, k, stride] (rows of k*C values, `stride` apart) -> dw [G, k, k, C, O]. */
export function untransposeFilters(
  dwT: Float32Array,
  d: ConvPoolDims,
  out: Float32Array,
  stride = d.k * d.C,
): void {
  mapFilters(out, dwT, d, stride, false);
}

/**
 * The sparse gradient. For each pooled output with y > 0 and v = dy * mask nonzero, in the order
 * (sample, pooled row, pooled column, channel), the window's winner (i, j) gets v: db += v; for
 * each filter row ky, v times the k*C contiguous values x[n, i+ky, j.., :] into dwT's row
 * (dwT [G, O, k, k*C]), and v times wT's row into dx[n, i+ky, j.., :]. dwT, db and dx (null: no
 * input gradient) accumulate and must start at zero; wT [G, O, k, k*C] is needed only with dx.
 */
export function convPoolGradJs(
  d: ConvPoolDims,
  dy: Float32Array,
  y: Float32Array,
  idx: Int32Array,
  x: Float32Array,
  mask: Float32Array | null,
  wT: Float32Array | null,
  dwT: Float32Array,
  db: Float32Array,
  dx: Float32Array | null,
): void {
  const { B, H, W, C, k, O } = d;
  const GB = d.G * B;
  const ph = (H - k + 1) >> 1;
  const pw = (W - k + 1) >> 1;
  const kC = k * C;
  let yi = 0;
  for (let n = 0; n < GB; n++) {
    const g = (n / B) | 0;
    for (let pi = 0; pi < ph; pi++) {
      for (let pj = 0; pj < pw; pj++) {
        for (let o = 0; o < O; o++, yi++) {
          if (!(y[yi]! > 0)) continue;
          const v = mask ? f32(dy[yi]! * mask[n * O + o]!) : dy[yi]!;
          if (v === 0) continue;
          const at = idx[yi]!;
          const i = 2 * pi + (at >> 1);
          const j = 2 * pj + (at & 1);
          db[g * O + o] = f32(db[g * O + o]! + v);
          for (let ky = 0; ky < k; ky++) {
            const xr = ((n * H + i + ky) * W + j) * C;
            const wr = ((g * O + o) * k + ky) * kC;
            for (let t = 0; t < kC; t++) dwT[wr + t] = f32(dwT[wr + t]! + f32(v * x[xr + t]!));
            if (dx && wT) {
              for (let t = 0; t < kC; t++) dx[xr + t] = f32(dx[xr + t]! + f32(v * wT[wr + t]!));
            }
          }
        }
      }
    }
  }
}

/**
 * z [B, 2ph, 2pw, M*C] (M models' outputs side by side in the channel axis) -> model m's
 * y[m*yStride ..] [B, ph, pw, C] = relu(window max) (yStride in elements), as poolReluRegroup2x2
 * (simd/kernels.wat) does it: relu(v) = 0 < v ? v : +0, NaN where the window holds a NaN.
 */
export function poolReluRegroupJs(
  z: Float32Array,
  y: Float32Array,
  B: number,
  ph: number,
  pw: number,
  M: number,
  C: number,
  yStride: number,
): void {
  const zO = M * C;
  const zRow = 2 * pw * zO;
  let out = 0;
  for (let n = 0; n < B; n++) {
    for (let pi = 0; pi < ph; pi++) {
      for (let pj = 0; pj < pw; pj++, out += C) {
        const base = (2 * (n * ph + pi) * 2 * pw + 2 * pj) * zO;
        for (let m = 0; m < M; m++) {
          for (let c = 0; c < C; c++) {
            const i0 = base + m * C + c;
            const v = [z[i0]!, z[i0 + zO]!, z[i0 + zRow]!, z[i0 + zRow + zO]!];
            let best = 0;
            for (const u of v) if (best < u) best = u;
            y[m * yStride + out + c] = v.some(Number.isNaN) ? Number.NaN : best;
          }
        }
      }
    }
  }
}
