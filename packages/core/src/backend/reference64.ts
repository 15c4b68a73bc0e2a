/**
 * Plain-JavaScript float64 references for the conformance cases (conformance.ts): matMul, conv2d
 * and its two gradients, maxPool and its gradient, softmax cross-entropy and its gradient. Written
 * from the definitions, one loop nest each, with no TensorFlow.js kernel involved, so the cpu
 * backend (the other backends' reference) is itself checked against something independent.
 * Padding follows TensorFlow's "same"/"valid" rule: out = ceil(in / s) (same) or
 * ceil((in - k + 1) / s) (valid), with the total padding split top/left = floor(total / 2).
 */

export interface Host64 {
  shape: number[];
  data: Float64Array;
}

/** a x b (batched over a leading dimension when rank 3), with optional transposes. */
export function matMul64(
  a: ArrayLike<number>,
  aShape: number[],
  b: ArrayLike<number>,
  bShape: number[],
  tA: boolean,
  tB: boolean,
): Host64 {
  const batch = aShape.length === 3 ? aShape[0]! : 1;
  const [ar, ac] = aShape.slice(-2) as [number, number];
  const [br, bc] = bShape.slice(-2) as [number, number];
  const m = tA ? ac : ar;
  const k = tA ? ar : ac;
  const n = tB ? br : bc;
  if ((tB ? bc : br) !== k) throw new Error(`matMul64: inner sizes ${k} and ${tB ? bc : br} differ`);
  const out = new Float64Array(batch * m * n);
  for (let z = 0; z < batch; z++) {
    const ao = z * ar * ac;
    const bo = z * br * bc;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const av = tA ? a[ao + p * ac + i]! : a[ao + i * ac + p]!;
          const bv = tB ? b[bo + j * bc + p]! : b[bo + p * bc + j]!;
          s += av * bv;
        }
        out[z * m * n + i * n + j] = s;
      }
    }
  }
  return { shape: aShape.length === 3 ? [batch, m, n] : [m, n], data: out };
}

/** Output size and leading padding of one spatial dimension. */
export function windowGeometry(
  size: number,
  k: number,
  s: number,
  pad: "same" | "valid",
): { out: number; before: number } {
  if (pad === "valid") return { out: Math.ceil((size - k + 1) / s), before: 0 };
  const out = Math.ceil(size / s);
  const total = Math.max(0, (out - 1) * s + k - size);
  return { out, before: Math.floor(total / 2) };
}

interface ConvGeometry {
  n: number;
  h: number;
  w: number;
  ci: number;
  kh: number;
  kw: number;
  co: number;
  oh: number;
  ow: number;
  top: number;
  left: number;
  s: number;
}

function convGeometry(xShape: number[], fShape: number[], s: number, pad: "same" | "valid"): ConvGeometry {
  const [n, h, w, ci] = xShape as [number, number, number, number];
  const [kh, kw, fci, co] = fShape as [number, number, number, number];
  if (fci !== ci) throw new Error(`conv: filter has ${fci} input channels, input ${ci}`);
  const gh = windowGeometry(h, kh, s, pad);
  const gw = windowGeometry(w, kw, s, pad);
  return { n, h, w, ci, kh, kw, co, oh: gh.out, ow: gw.out, top: gh.before, left: gw.before, s };
}

/**
 * Calls `f(xIndex, wIndex, outIndex)` for every (input, filter, output) product of an NHWC conv2d
 * with an HWIO filter: the one loop nest behind the forward pass and both gradients.
 */
function forEachConvTerm(g: ConvGeometry, f: (xi: number, wi: number, oi: number) => void): void {
  for (let b = 0; b < g.n; b++)
    for (let y = 0; y < g.oh; y++)
      for (let x = 0; x < g.ow; x++)
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = y * g.s + ky - g.top;
          if (iy < 0 || iy >= g.h) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const ix = x * g.s + kx - g.left;
            if (ix < 0 || ix >= g.w) continue;
            for (let c = 0; c < g.ci; c++) {
              const xi = ((b * g.h + iy) * g.w + ix) * g.ci + c;
              for (let o = 0; o < g.co; o++) {
                f(xi, ((ky * g.kw + kx) * g.ci + c) * g.co + o, ((b * g.oh + y) * g.ow + x) * g.co + o);
              }
            }
          }
        }
}

export function conv2d64(
  x: ArrayLike<number>,
  xShape: number[],
  w: ArrayLike<number>,
  fShape: number[],
  s: number,
  pad: "same" | "valid",
): Host64 {
  const g = convGeometry(xShape, fShape, s, pad);
  const out = new Float64Array(g.n * g.oh * g.ow * g.co);
  forEachConvTerm(g, (xi, wi, oi) => {
    out[oi]! += x[xi]! * w[wi]!;
  });
  return { shape: [g.n, g.oh, g.ow, g.co], data: out };
}

/** Gradients of sum(conv2d(x, w) * r) with respect to x and w. */
export function conv2dGrads64(
  x: ArrayLike<number>,
  xShape: number[],
  w: ArrayLike<number>,
  fShape: number[],
  r: ArrayLike<number>,
  s: number,
  pad: "same" | "valid",
): [Host64, Host64] {
  const g = convGeometry(xShape, fShape, s, pad);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  forEachConvTerm(g, (xi, wi, oi) => {
    dx[xi]! += r[oi]! * w[wi]!;
    dw[wi]! += r[oi]! * x[xi]!;
  });
  return [
    { shape: [...xShape], data: dx },
    { shape: [...fShape], data: dw },
  ];
}

/**
 * maxPool (NHWC, square window `k`, stride `s`; padded positions never win) and the gradient of
 * sum(maxPool(x) * r): each output's r goes to the first position holding its window's maximum.
 */
export function maxPool64(
  x: ArrayLike<number>,
  xShape: number[],
  k: number,
  s: number,
  pad: "same" | "valid",
  r?: ArrayLike<number>,
): { out: Host64; grad: Host64 | null } {
  const [n, h, w, c] = xShape as [number, number, number, number];
  const gh = windowGeometry(h, k, s, pad);
  const gw = windowGeometry(w, k, s, pad);
  const out = new Float64Array(n * gh.out * gw.out * c);
  const grad = r ? new Float64Array(x.length) : null;
  for (let b = 0; b < n; b++)
    for (let y = 0; y < gh.out; y++)
      for (let xo = 0; xo < gw.out; xo++)
        for (let ch = 0; ch < c; ch++) {
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          for (let ky = 0; ky < k; ky++) {
            const iy = y * s + ky - gh.before;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < k; kx++) {
              const ix = xo * s + kx - gw.before;
              if (ix < 0 || ix >= w) continue;
              const i = ((b * h + iy) * w + ix) * c + ch;
              if (x[i]! > best) {
                best = x[i]!;
                at = i;
              }
            }
          }
          const oi = ((b * gh.out + y) * gw.out + xo) * c + ch;
          out[oi] = best;
          if (grad && r) grad[at]! += r[oi]!;
        }
  return {
    out: { shape: [n, gh.out, gw.out, c], data: out },
    grad: grad ? { shape: [...xShape], data: grad } : null,
  };
}

/**
 * Softmax cross-entropy of `rows` x `classes` logits against one-hot (or soft) labels, averaged
 * over the rows (tf.losses.softmaxCrossEntropy's default reduction with unit weights), and its
 * gradient with respect to the logits: (softmax - labels) / rows.
 */
export function softmaxCrossEntropy64(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  rows: number,
  classes: number,
): [Host64, Host64] {
  let loss = 0;
  const grad = new Float64Array(rows * classes);
  for (let r = 0; r < rows; r++) {
    const o = r * classes;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < classes; j++) max = Math.max(max, logits[o + j]!);
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += Math.exp(logits[o + j]! - max);
    const logSum = Math.log(sum) + max;
    for (let j = 0; j < classes; j++) {
      loss -= labels[o + j]! * (logits[o + j]! - logSum);
      grad[o + j] = (Math.exp(logits[o + j]! - logSum) - labels[o + j]!) / rows;
    }
  }
  return [
    { shape: [], data: Float64Array.of(loss / rows) },
    { shape: [rows, classes], data: grad },
  ];
}
