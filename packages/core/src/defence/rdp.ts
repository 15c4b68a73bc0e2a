/**
 * The RDP accountant of the sampled Gaussian mechanism (Mironov, Talwar and Zhang, "Rényi
 * Differential Privacy of the Sampled Gaussian Mechanism", 2019), as TensorFlow Privacy and Opacus
 * compute it: Rényi DP at each order alpha for `steps` compositions of a Gaussian mechanism of noise
 * multiplier sigma on a Poisson sample of rate q, then the smallest epsilon at delta over the orders,
 * with the conversion eps = rdp(alpha) - log(delta) / (alpha - 1) (Mironov 2017, Proposition 3).
 * Pure numbers; no tensors, no I/O.
 */

/** The orders TF Privacy's DP-SGD tutorials and Opacus use: 1.1, 1.2, ..., 10.9, 12, ..., 63. */
export const DEFAULT_ORDERS: readonly number[] = [
  ...Array.from({ length: 99 }, (_, i) => 1 + (i + 1) / 10),
  ...Array.from({ length: 52 }, (_, i) => 12 + i),
];

/** log(exp(a) + exp(b)) without overflow. */
function logAdd(a: number, b: number): number {
  const [lo, hi] = a < b ? [a, b] : [b, a];
  if (lo === Number.NEGATIVE_INFINITY) return hi;
  return Math.log1p(Math.exp(lo - hi)) + hi;
}

/** log(exp(a) - exp(b)), a >= b. */
function logSub(a: number, b: number): number {
  if (b === Number.NEGATIVE_INFINITY) return a;
  if (a === b) return Number.NEGATIVE_INFINITY;
  return Math.log(Math.expm1(a - b)) + b;
}

/** log Gamma(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error below 1e-13). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** log |n choose k| for real n (log |Gamma| by reflection where an argument is negative). */
function logComb(n: number, k: number): number {
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}

/** erfc(x) to about 1e-14 relative: 1 - erf's power series below 2, a continued fraction above. */
function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) {
    // erf series: erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
    let sum = x;
    let term = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // Continued fraction (Lentz): erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...))))
  const tiny = 1e-300;
  let f = x;
  let C = x;
  let D = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    D = x + a * D;
    D = D === 0 ? tiny : 1 / D;
    C = x + a / C;
    if (C === 0) C = tiny;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** log(erfc(x)), also for large x where erfc underflows. */
function logErfc(x: number): number {
  if (x < 20) return Math.log(erfc(x));
  // Asymptotic expansion: erfc(x) ~ exp(-x^2) / (x sqrt(pi)) * (1 - 1/(2x^2) + 3/(4x^4) - 15/(8x^6) ...)
  const r = 1 / (x * x);
  return (
    -x * x - Math.log(x) - 0.5 * Math.log(Math.PI) + Math.log1p(-0.5 * r + 0.75 * r * r - 1.875 * r * r * r)
  );
}

/** log A_alpha for integer alpha (the binomial expansion). */
function logAInt(q: number, sigma: number, alpha: number): number {
  let logA = Number.NEGATIVE_INFINITY;
  for (let i = 0; i <= alpha; i++) {
    const coef = logComb(alpha, i) + i * Math.log(q) + (alpha - i) * Math.log1p(-q);
    logA = logAdd(logA, coef + (i * i - i) / (2 * sigma * sigma));
  }
  return logA;
}

/** Sign of the generalised binomial coefficient (alpha choose i), alpha not an integer. */
function binomSign(alpha: number, i: number): number {
  return Math.max(0, i - 1 - Math.floor(alpha)) % 2 === 0 ? 1 : -1;
}

/** log A_alpha for fractional alpha: the two series of Mironov et al. (Section 3.3), summed until negligible. */
function logAFrac(q: number, sigma: number, alpha: number): number {
  let a0 = Number.NEGATIVE_INFINITY;
  let a1 = Number.NEGATIVE_INFINITY;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  const twoS2 = 2 * sigma * sigma;
  for (let i = 0; i < 100_000; i++) {
    const j = alpha - i;
    const logCoef = logComb(alpha, i);
    const t0 = logCoef + i * Math.log(q) + j * Math.log1p(-q);
    const t1 = logCoef + j * Math.log(q) + i * Math.log1p(-q);
    const s0 = t0 + (i * i - i) / twoS2 + Math.log(0.5) + logErfc((i - z0) / (Math.SQRT2 * sigma));
    const s1 = t1 + (j * j - j) / twoS2 + Math.log(0.5) + logErfc((z0 - j) / (Math.SQRT2 * sigma));
    if (binomSign(alpha, i) > 0) {
      a0 = logAdd(a0, s0);
      a1 = logAdd(a1, s1);
    } else {
      a0 = logSub(a0, s0);
      a1 = logSub(a1, s1);
    }
    if (Math.max(s0, s1) < -30) break;
  }
  return logAdd(a0, a1);
}

/** RDP at `order` of one step of the sampled Gaussian mechanism. */
function rdpOneStep(q: number, sigma: number, order: number): number {
  if (q === 0) return 0;
  if (sigma === 0) return Number.POSITIVE_INFINITY;
  if (q === 1) return order / (2 * sigma * sigma);
  if (!Number.isFinite(order)) return Number.POSITIVE_INFINITY;
  const logA = Number.isInteger(order) ? logAInt(q, sigma, order) : logAFrac(q, sigma, order);
  return logA / (order - 1);
}

/** RDP at each order of `steps` steps of the sampled Gaussian mechanism (sampling rate q, noise sigma). */
export function computeRdp(
  q: number,
  sigma: number,
  steps: number,
  orders: readonly number[] = DEFAULT_ORDERS,
): number[] {
  if (!(q >= 0 && q <= 1)) throw new Error(`computeRdp: sampling rate ${q} is not in [0, 1]`);
  if (!(sigma >= 0)) throw new Error(`computeRdp: noise multiplier ${sigma} is negative`);
  return orders.map((a) => rdpOneStep(q, sigma, a) * steps);
}

/** The smallest epsilon at `delta` over the orders, and the order that gives it. */
export function epsilonFromRdp(
  rdp: readonly number[],
  delta: number,
  orders: readonly number[] = DEFAULT_ORDERS,
): { epsilon: number; order: number } {
  let best = { epsilon: Number.POSITIVE_INFINITY, order: Number.NaN };
  orders.forEach((a, i) => {
    const eps = rdp[i]! - Math.log(delta) / (a - 1);
    if (eps < best.epsilon) best = { epsilon: eps, order: a };
  });
  return best;
}

/** epsilon at `delta` of DP-SGD: `steps` steps at sampling rate q and noise multiplier sigma. */
export function dpSgdEpsilon(q: number, sigma: number, steps: number, delta: number): number {
  return epsilonFromRdp(computeRdp(q, sigma, steps), delta).epsilon;
}
