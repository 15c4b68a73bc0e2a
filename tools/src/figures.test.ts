import { describe, expect, test } from "bun:test";
import type { BarChart, ImageGrid } from "@updates-leak/attacks/context";
import {
  BAR_COLORS,
  barChartLayout,
  composeGrid,
  decodePng,
  encodePng,
  formatValue,
  niceScale,
  renderBarChart,
  renderImageGrid,
  slug,
} from "./figures.ts";

function px(img: { width: number; rgba: Uint8Array }, x: number, y: number): number[] {
  const o = (y * img.width + x) * 4;
  return Array.from(img.rgba.subarray(o, o + 4));
}

/** 2x2 gray images whose pixel k has value (k + 1 + 4 * id) / 16. */
function tiny(id: number): Float32Array {
  return Float32Array.from({ length: 4 }, (_, k) => (k + 1 + 4 * id) / 16);
}

const grid: ImageGrid = {
  title: "Tiny",
  rowLabels: ["original", "reconstruction"],
  shape: [2, 2, 1],
  rows: [[tiny(0), tiny(1)], [tiny(2)]],
};

describe("image grids", () => {
  test("composeGrid upscales by nearest neighbour and places rows with spacing", () => {
    const g = composeGrid(grid, { scale: 3 });
    const L = g.layout;
    expect([L.cellW, L.cellH, L.gap, L.rowGap]).toEqual([6, 6, 4, 12]);
    expect([g.width, g.height]).toEqual([2 * 6 + 4, 2 * 6 + 12]);
    const byte = (v: number) => Math.round(v * 255);
    // Row 0, image 1, source pixel (x=1, y=0) = k 1 -> value (2 + 4) / 16, a 3x3 block.
    for (const [x, y] of [
      [10 + 3, 0],
      [10 + 5, 2],
    ] as const) {
      expect(px(g, x, y)).toEqual([byte(6 / 16), byte(6 / 16), byte(6 / 16), 255]);
    }
    // Row 1, image 0, source pixel (0, 1) = k 2 -> (3 + 8) / 16, at y = 6 + 12 + 3.
    expect(px(g, 0, 21)).toEqual([byte(11 / 16), byte(11 / 16), byte(11 / 16), 255]);
    // The gap between images and the missing second image of row 1 stay white.
    expect(px(g, 7, 0)).toEqual([255, 255, 255, 255]);
    expect(px(g, 12, 20)).toEqual([255, 255, 255, 255]);
  });

  test("the default scale doubles 28x28 to 56x56; RGB channels and clamping are kept", () => {
    const img = new Float32Array(28 * 28 * 3);
    img.set([1, 0.5, -3], 0);
    img[3] = Number.NaN;
    img[4] = 7;
    const g = composeGrid({ title: "", rowLabels: ["a"], shape: [28, 28, 3], rows: [[img]] });
    expect([g.width, g.height, g.layout.scale]).toEqual([56, 56, 2]);
    expect(px(g, 1, 1)).toEqual([255, 128, 0, 255]);
    expect(px(g, 2, 0)).toEqual([0, 255, 0, 255]);
  });

  test("renderImageGrid draws the images pixel-exact inside the figure, with text around", () => {
    const png = decodePng(renderImageGrid(grid, { scale: 3 }));
    const g = composeGrid(grid, { scale: 3 });
    const L = g.layout;
    expect(png.width).toBe(L.width);
    expect(png.height).toBe(L.height);
    for (let y = 0; y < g.height; y++) {
      for (let x = 0; x < g.width; x++) {
        expect(px(png, L.left + x, L.top + y)).toEqual(px(g, x, y));
      }
    }
    // Labels: dark pixels left of the image area.
    let dark = 0;
    for (let y = L.top; y < L.top + L.cellH; y++) {
      for (let x = 0; x < L.left; x++) if (px(png, x, y)[0]! < 128) dark++;
    }
    expect(dark).toBeGreaterThan(10);
  });

  test("bad grids are refused with the reason", () => {
    expect(() => composeGrid({ ...grid, shape: [2, 2, 2] })).toThrow("must be [h, w, 1 or 3]");
    expect(() => composeGrid({ ...grid, rowLabels: ["a"] })).toThrow("1 row labels for 2 rows");
    expect(() => composeGrid({ ...grid, rows: [[new Float32Array(3)], []] })).toThrow(
      "row 0 image 0 has 3 values",
    );
  });
});

describe("bar charts", () => {
  test("axis scales and value labels", () => {
    expect(niceScale(0.683)).toEqual({ top: 0.8, step: 0.2 });
    expect(niceScale(0.0325).step).toBeCloseTo(0.01, 12);
    expect(niceScale(0.0325).top).toBeCloseTo(0.04, 12);
    expect(niceScale(37)).toEqual({ top: 40, step: 10 });
    expect(formatValue(0.68312)).toBe("0.683");
    expect(formatValue(0.0043)).toBe("0.0043");
    expect(formatValue(0)).toBe("0");
    expect(formatValue(2.5e-6)).toBe("2.50e-6");
  });

  test("bar heights are proportional to the values; attack bar blue, baselines grey", () => {
    const chart: BarChart = {
      title: "Single-sample reconstruction, MNIST",
      metric: "MSE",
      better: "lower",
      bars: [
        { label: "A_SSR", value: 0.06 },
        { label: "Label-random", value: 0.08 },
        { label: "Random", value: 0.1 },
      ],
    };
    const png = decodePng(renderBarChart(chart));
    const L = barChartLayout(chart);
    expect(png.width).toBe(L.width);
    expect(L.top).toBeCloseTo(0.1, 12);
    const hex = (c: string) => [1, 3, 5].map((i) => Number.parseInt(c.slice(i, i + 2), 16));
    const heights = chart.bars.map((_, i) => {
      const x = Math.round(L.barX[i]!);
      const color = hex(i === 0 ? BAR_COLORS.attack : BAR_COLORS.baseline);
      let h = 0;
      for (let y = 0; y < png.height; y++) {
        const p = px(png, x, y);
        if (p.slice(0, 3).every((v, k) => Math.abs(v - color[k]!) <= 2)) h++;
      }
      return h;
    });
    for (let i = 0; i < 3; i++) {
      expect(Math.abs(heights[i]! - (L.plotH * chart.bars[i]!.value) / L.top)).toBeLessThanOrEqual(1.5);
    }
  });

  test("accuracy charts use a 0..1 axis; negative bars are refused", () => {
    const acc: BarChart = {
      title: "t",
      metric: "accuracy",
      better: "higher",
      bars: [{ label: "a", value: 0.68 }],
    };
    expect(barChartLayout(acc).top).toBe(1);
    expect(() => renderBarChart({ ...acc, bars: [{ label: "x", value: -1 }] })).toThrow(
      'bar "x" is negative',
    );
  });

  test("png round trip and slugs", () => {
    const rgba = Uint8Array.from({ length: 3 * 2 * 4 }, (_, i) => (i * 37) % 256);
    const back = decodePng(encodePng(3, 2, rgba));
    expect([back.width, back.height]).toEqual([3, 2]);
    expect(Array.from(back.rgba)).toEqual(Array.from(rgba));
    expect(slug("Label inference (MNIST)")).toBe("label-inference-mnist");
    expect(slug("***")).toBe("figure");
  });
});
