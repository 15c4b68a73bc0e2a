import { expect, test } from "bun:test";
import { cifarCnn, instaMlp, mnistCnn } from "@updates-leak/core";
import { forwardFlops, layerFlops, trainFlopsPerSample, updatedModelFlops } from "./flops.ts";

test("MNIST CNN FLOP counts, worked out by hand", () => {
  // conv1 24*24*25*1*10*2, conv2 8*8*25*10*20*2, dense 320*50*2, dense 50*10*2
  expect(layerFlops(mnistCnn)).toEqual([288_000, 640_000, 32_000, 1_000]);
  expect(forwardFlops(mnistCnn)).toBe(961_000);
  expect(trainFlopsPerSample(mnistCnn)).toBe(3 * 961_000 - 288_000);
  // one single-sample updated model probed on 100 samples: ~98.7 MFLOP
  expect(updatedModelFlops(mnistCnn, 1, 100)).toBe(2_595_000 + 96_100_000);
});

test("CIFAR-10 CNN and Insta-NY MLP forward FLOP", () => {
  // conv1 28*28*25*3*6*2, conv2 10*10*25*6*16*2, dense 1600*120*2, 120*84*2, 84*10*2
  expect(layerFlops(cifarCnn)).toEqual([705_600, 480_000, 384_000, 20_160, 1_680]);
  expect(forwardFlops(instaMlp)).toBe(2 * (168 * 128 + 128 * 64 + 64 * 8));
  expect(updatedModelFlops(instaMlp, 100, 100)).toBe(100 * (3 * 60_416 - 43_008) + 100 * 60_416);
});
