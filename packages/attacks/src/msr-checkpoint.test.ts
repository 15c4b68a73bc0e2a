/**
 * CBM-GAN checkpoints (msr.ts `MsrCheckpointing`): training stopped after an epoch and resumed from
 * its checkpoint in fresh nets ends with the nets, optimiser state and history of an uninterrupted
 * training, bit for bit; a checkpoint of another training, or a damaged one, is refused; nothing
 * leaks. Tiny nets (batch norm, dropout and both optimisers included), on cpu and wasm.
 */
import { describe, expect, test } from "bun:test";
import { Rng, selectBackend, tf } from "@updates-leak/core";
import { type MsrAttackConfig, type MsrCheckpointing, setsFromFlat, trainMsrAttack } from "./msr.ts";
import { decodeMsrCheckpoint, type MsrCheckpoint, MsrCheckpointError } from "./msr-checkpoint.ts";
import { linearDeltas, prototypeSets } from "./testData.ts";

const n = 40;
const d = 16;
const setSize = 6;
const { sets, hist } = prototypeSets(1, n, 5, d, setSize);
const { deltas, deltaSize } = linearDeltas(2, hist, n, 5, 30, 1e-3, 0.05);
const source = setsFromFlat(sets, setSize, d);

const settings: Partial<MsrAttackConfig> = {
  noiseDim: 4,
  latentDim: 6,
  encoder: { hidden: [16], dropout: [0.2], leakySlope: 0.01, init: "he" },
  generatorHidden: [24, 24],
  generatorBatchNorm: "skipFirst", // running statistics in the state
  discriminatorHidden: [16, 8],
  modelsPerStep: 4,
  epochs: 3,
  adam: { lr: 3e-3, beta1: 0.5, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 },
};

class Stop extends Error {}

/** An in-memory checkpoint place: `initial` to load, every save kept; `stopAfter` throws after that epoch's save. */
function memoryHook(initial: Uint8Array | null, stopAfter = 0, key = "test") {
  const saved: Uint8Array[] = [];
  const restored: number[] = [];
  const hook: MsrCheckpointing = {
    key,
    where: "memory:gan",
    load: () => initial,
    save: (bytes, epoch) => {
      expect(epoch).toBe(saved.length + 1 + (restored[0] ?? 0));
      saved.push(bytes.slice());
      if (epoch === stopAfter) throw new Stop(`stopped after epoch ${epoch}`);
    },
    restored: (e) => restored.push(e),
  };
  return { hook, saved, restored };
}

function train(hook: MsrCheckpointing, over: Partial<MsrAttackConfig> = {}, x = deltas) {
  const epochs: number[] = [];
  const gan = trainMsrAttack(x, n, deltaSize, source, setSize, d, new Rng(7), {
    ...settings,
    ...over,
    checkpoint: hook,
    onEpoch: (r) => epochs.push(r.epoch),
  });
  return { gan, epochs };
}

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** Two checkpoints hold the same state: every tensor's bits, both optimisers, the losses. */
function expectSameState(a: MsrCheckpoint, b: MsrCheckpoint): void {
  expect(b.identity).toBe(a.identity);
  expect(b.epoch).toBe(a.epoch);
  expect(b.adam).toEqual(a.adam);
  expect(b.tensors.map((t) => `${t.name}[${t.shape}]`)).toEqual(
    a.tensors.map((t) => `${t.name}[${t.shape}]`),
  );
  a.tensors.forEach((t, i) => {
    if (!bits(t.data).every((w, j) => w === bits(b.tensors[i]!.data)[j]))
      throw new Error(`${t.name} differs between the checkpoints`);
  });
  const losses = (c: MsrCheckpoint) => c.history.map((r) => [r.epoch, r.dLoss, r.gLoss, r.bestMatch]);
  expect(losses(b)).toEqual(losses(a));
}

describe.each(["cpu", "wasm"] as const)("CBM-GAN checkpoints on %s", (backend) => {
  test("3 epochs straight = 1 epoch, checkpoint, fresh nets, 2 more: bit for bit; a final checkpoint trains nothing; no leak", async () => {
    await selectBackend({ backend, quiet: true });
    const before = tf.memory().numTensors;
    const t0 = performance.now();

    const straight = memoryHook(null);
    const a = train(straight.hook);
    expect(a.epochs).toEqual([1, 2, 3]);
    expect(straight.saved.length).toBe(3);
    const genA = a.gan.generate(deltas.subarray(0, deltaSize), 64, new Rng(9), 32);
    a.gan.dispose();
    expect(tf.memory().numTensors).toBe(before);

    // "Killed" after epoch 1's checkpoint: the error goes through, nothing is left allocated.
    const stopped = memoryHook(null, 1);
    expect(() => train(stopped.hook)).toThrow(Stop);
    expect(tf.memory().numTensors).toBe(before);
    expect(stopped.saved.length).toBe(1);
    expectSameState(decodeMsrCheckpoint(straight.saved[0]!), decodeMsrCheckpoint(stopped.saved[0]!));

    // Resumed into fresh nets: epochs 2 and 3 only.
    const resumed = memoryHook(stopped.saved[0]!);
    const b = train(resumed.hook);
    expect(resumed.restored).toEqual([1]);
    expect(b.epochs).toEqual([2, 3]);
    expect(b.gan.history.map((r) => r.epoch)).toEqual([1, 2, 3]);
    expect(b.gan.history.map((r) => [r.dLoss, r.gLoss, r.bestMatch])).toEqual(
      a.gan.history.map((r) => [r.dLoss, r.gLoss, r.bestMatch]),
    );
    expectSameState(decodeMsrCheckpoint(straight.saved[2]!), decodeMsrCheckpoint(resumed.saved[1]!));
    const genB = b.gan.generate(deltas.subarray(0, deltaSize), 64, new Rng(9), 32);
    expect(Buffer.compare(Buffer.from(genB.buffer), Buffer.from(genA.buffer))).toBe(0);
    b.gan.dispose();

    // From the last epoch's checkpoint: no epoch to train, the same generator.
    const done = memoryHook(straight.saved[2]!);
    const c = train(done.hook);
    expect(c.epochs).toEqual([]);
    expect(done.saved.length).toBe(0);
    expect(done.restored).toEqual([3]);
    const genC = c.gan.generate(deltas.subarray(0, deltaSize), 64, new Rng(9), 32);
    expect(Buffer.compare(Buffer.from(genC.buffer), Buffer.from(genA.buffer))).toBe(0);
    c.gan.dispose();
    expect(tf.memory().numTensors).toBe(before);
    console.log(
      `msr-checkpoint.test (${backend}): ${straight.saved[2]!.length} bytes per checkpoint, ` +
        `${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  });
});

describe("CBM-GAN checkpoints refused", () => {
  test("another key, other settings, other deltas, damaged bytes: MsrCheckpointError naming the place; no leak", async () => {
    await selectBackend({ backend: "cpu", quiet: true });
    const first = memoryHook(null, 1);
    expect(() => train(first.hook)).toThrow(Stop);
    const bytes = first.saved[0]!;
    const before = tf.memory().numTensors;

    const refusal = (hook: MsrCheckpointing, over: Partial<MsrAttackConfig> = {}, x = deltas) => {
      try {
        train(hook, over, x).gan.dispose();
      } catch (e) {
        expect(e).toBeInstanceOf(MsrCheckpointError);
        expect((e as Error).message.startsWith("memory:gan: ")).toBe(true);
        return (e as Error).message;
      }
      throw new Error("the checkpoint was taken up");
    };
    expect(refusal(memoryHook(bytes, 0, "other").hook)).toContain(
      'saved by another training (key: "test" -> "other")',
    );
    expect(refusal(memoryHook(bytes).hook, { epochs: 4 })).toContain("settings.epochs: 3 -> 4");
    expect(refusal(memoryHook(bytes).hook, { generatorHidden: [24, 32] })).toContain(
      "settings.generatorHidden: [24,24] -> [24,32]",
    );
    const moved = deltas.map((v) => v * 1.5);
    expect(refusal(memoryHook(bytes).hook, {}, moved)).toContain("saved on other shadow deltas");

    const flipped = bytes.slice();
    const k = flipped.length - 5;
    flipped[k] = (flipped[k] as number) ^ 1;
    expect(refusal(memoryHook(flipped).hook)).toContain("checksum mismatch");
    expect(refusal(memoryHook(bytes.subarray(0, bytes.length - 4)).hook)).toContain("payload bytes");
    expect(refusal(memoryHook(new TextEncoder().encode("not a checkpoint at all")).hook)).toContain(
      "does not start with ULMSRCKP",
    );
    expect(tf.memory().numTensors).toBe(before);

    // decodeMsrCheckpoint reads a Buffer-like view at any offset.
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    expect(decodeMsrCheckpoint(padded.subarray(3)).epoch).toBe(1);
  });
});
