import { expect, test } from "bun:test";
import { sizeFromShape } from "./shape.ts";

test("sizeFromShape multiplies the dimensions; a scalar's [] has one element", () => {
  expect(sizeFromShape([28, 28, 1])).toBe(784);
  expect(sizeFromShape([32, 32, 3])).toBe(3072);
  expect(sizeFromShape([168])).toBe(168);
  expect(sizeFromShape([])).toBe(1);
  expect(sizeFromShape([4, 0, 5])).toBe(0);
});
