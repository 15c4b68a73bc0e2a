/**
 * Minimum-cost assignment (Hungarian algorithm, shortest augmenting paths with potentials),
 * O(n^2 m) for an n x m cost matrix with n <= m. Plain TypeScript, float64.
 * Used to match multi-sample reconstructions to the real updating set one-to-one.
 */

/** A minimum-cost assignment (`hungarian`): the column of each row and the total cost. */
export interface Assignment {
  /** rowToCol[i] = the column assigned to row i. */
  rowToCol: Int32Array;
  /** Sum of the assigned costs. */
  cost: number;
}

/**
 * Solves min sum_i cost[i, rowToCol[i]] over injective maps rows -> columns.
 * `cost` is row-major [rows, cols] with rows <= cols; entries must be finite.
 */
export function hungarian(cost: ArrayLike<number>, rows: number, cols: number = rows): Assignment {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < rows) {
    throw new Error(`hungarian: need integers 0 <= rows <= cols, got rows=${rows} cols=${cols}`);
  }
  if (cost.length !== rows * cols) {
    throw new Error(`hungarian: cost must hold rows x cols = ${rows * cols} values, got ${cost.length}`);
  }
  for (let i = 0; i < cost.length; i++) {
    if (!Number.isFinite(cost[i] as number))
      throw new Error(`hungarian: cost[${i}] is ${cost[i]}, must be finite`);
  }
  const n = rows;
  const m = cols;
  // 1-based arrays as in the classic formulation; index 0 is a virtual row/column.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1); // p[j] = row matched to column j (0 = none)
  const way = new Int32Array(m + 1);
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Number.POSITIVE_INFINITY);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0] as number;
      let delta = Number.POSITIVE_INFINITY;
      let j1 = 0;
      const rowBase = (i0 - 1) * m;
      const ui0 = u[i0] as number;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = (cost[rowBase + j - 1] as number) - ui0 - (v[j] as number);
        if (cur < (minv[j] as number)) {
          minv[j] = cur;
          way[j] = j0;
        }
        if ((minv[j] as number) < delta) {
          delta = minv[j] as number;
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          const pj = p[j] as number;
          u[pj] = (u[pj] as number) + delta;
          v[j] = (v[j] as number) - delta;
        } else {
          minv[j] = (minv[j] as number) - delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0] as number;
      p[j0] = p[j1] as number;
      j0 = j1;
    } while (j0 !== 0);
  }
  const rowToCol = new Int32Array(n);
  for (let j = 1; j <= m; j++) {
    const r = p[j] as number;
    if (r > 0) rowToCol[r - 1] = j - 1;
  }
  let total = 0;
  for (let i = 0; i < n; i++) total += cost[i * m + (rowToCol[i] as number)] as number;
  return { rowToCol, cost: total };
}
