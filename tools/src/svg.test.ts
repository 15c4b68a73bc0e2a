import { describe, expect, test } from "bun:test";
import { barSvg, scatterSvg, ticks } from "./svg.ts";

/** The numbers of every `name="..."` attribute of the elements `tag`, in order. */
function attrs(svg: string, tag: string, name: string): number[] {
  const re = new RegExp(`<${tag} [^>]*?${name}="([-0-9.]+)"`, "g");
  return [...svg.matchAll(re)].map((m) => Number(m[1]));
}

describe("scatterSvg", () => {
  test("ticks are round values that cover the range", () => {
    expect(ticks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(ticks(0.03, 0.97)).toEqual([0.2, 0.4, 0.6, 0.8]);
    expect(ticks(-12, 37)).toEqual([-10, 0, 10, 20, 30]);
  });

  test("points keep their order on both axes; text is escaped; one marker per point and series", () => {
    const pts = [
      { x: 0, y: 0.9, label: "none" },
      { x: 0.5, y: 0.5, label: "a<b & c" },
      { x: 1, y: 0.1 },
    ];
    const svg = scatterSvg({
      title: "A_LI <MNIST>",
      xLabel: "L1",
      yLabel: "accuracy",
      series: [
        { name: "adaptive", marker: "circle", color: "#1f77b4", points: pts },
        { name: "non-adaptive", marker: "square", color: "#d62728", points: [{ x: 0.2, y: 0.3 }] },
      ],
      lines: [{ y: 0.1, name: "random" }],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain("A_LI &lt;MNIST&gt;");
    expect(svg).toContain("a&lt;b &amp; c");
    // The legend marker comes first, then the points.
    const cx = attrs(svg, "circle", "cx").slice(1);
    const cy = attrs(svg, "circle", "cy").slice(1);
    expect(cx.length).toBe(3);
    expect(cx[0]!).toBeLessThan(cx[1]!);
    expect(cx[1]!).toBeLessThan(cx[2]!);
    expect(cy[0]!).toBeLessThan(cy[1]!);
    expect(cy[1]!).toBeLessThan(cy[2]!);
    // Equal steps in x are equal steps on the page.
    expect(cx[1]! - cx[0]!).toBeCloseTo(cx[2]! - cx[1]!, 0);
    expect(attrs(svg, "rect", "width").filter((w) => w === 8).length).toBe(2);
    expect(() => scatterSvg({ title: "t", xLabel: "x", yLabel: "y", series: [] })).toThrow(/no points/);
  });

  test("labels of points that lie together are stacked, not drawn over each other", () => {
    const pts = [
      { x: 0, y: 0.5, label: "none" },
      { x: 0.001, y: 0.5, label: "topk:3" },
      { x: 0.002, y: 0.5, label: "round:2" },
      { x: 1, y: 0.9, label: "far" },
    ];
    const svg = scatterSvg({
      title: "t",
      xLabel: "x",
      yLabel: "y",
      series: [{ name: "adaptive", marker: "circle", color: "#1f77b4", points: pts }],
    });
    const texts = [...svg.matchAll(/<text x="([-0-9.]+)" y="([-0-9.]+)"[^>]*>(none|topk:3|round:2|far)</g)];
    expect(texts.map((m) => m[3])).toEqual(["none", "topk:3", "round:2", "far"]);
    const ys = texts.slice(0, 3).map((m) => Number(m[2]));
    // Three 11 px lines apart: no two of the three share a line.
    for (let i = 0; i < 3; i++)
      for (let j = i + 1; j < 3; j++) expect(Math.abs(ys[i]! - ys[j]!)).toBeGreaterThanOrEqual(12);
    // The point at the right edge has its label to its left (text-anchor end), away from the legend.
    expect(svg).toMatch(/text-anchor="end">far</);
  });

  test("bars stand on zero with heights in proportion; error bars span value ± err", () => {
    const svg = barSvg({
      title: "A_LI",
      yLabel: "accuracy",
      bars: [
        { label: "none", value: 0.8, err: 0.1 },
        { label: "label", value: 0.2 },
      ],
      lines: [{ y: 0.1, name: "random" }],
    });
    const heights = attrs(svg, "rect", "height").slice(1); // after the background
    const ys = attrs(svg, "rect", "y");
    expect(heights[0]! / heights[1]!).toBeCloseTo(4, 2);
    // Both bars end at the same baseline (y + height), the zero line.
    expect(ys[0]! + heights[0]!).toBeCloseTo(ys[1]! + heights[1]!, 0);
    const unit = heights[0]! / 0.8; // pixels per unit of accuracy
    const bar = /class="error-bar"/.test(svg)
      ? /d="M[\d.]+ ([\d.]+) L[\d.]+ ([\d.]+)/.exec(svg.split("error-bar")[0]!.split("<path ").pop()!)
      : null;
    expect(bar).not.toBeNull();
    expect(Number(bar![1]) - Number(bar![2])).toBeCloseTo(0.2 * unit, 0);
    expect(svg.match(/class="error-bar"/g)!.length).toBe(1);
    expect(svg).toContain(">random</text>");
  });
});
