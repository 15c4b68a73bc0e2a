/**
 * MNIST in the browser: the four IDX files, gzipped (or raw), from `File`s the user picked or from
 * responses fetched next to the page, decompressed with `DecompressionStream("gzip")` and parsed by
 * the datasets package's own IDX parser (`IdxSink`: big-endian header, magic number, dimensions
 * and size checked, errors naming the file), label range checked as the package does, and wrapped
 * as the package's image data set, which normalises as the authors' code does:
 * (x / 255 - 0.1307) / 0.3081. Only modules of @updates-leak/datasets that need no `node:` API are
 * imported. Runs in browsers and in Bun (which has DecompressionStream too).
 */
import { DataError } from "../packages/datasets/src/errors.ts";
import { IdxSink } from "../packages/datasets/src/idx.ts";
import { type KnownFile, MNIST_FILES } from "../packages/datasets/src/known-files.ts";
import { mnistDataset } from "../packages/datasets/src/mnist.ts";
import type { Dataset } from "../packages/datasets/src/types.ts";
import { checkLabels } from "../packages/datasets/src/verify.ts";

/** The four files, by role, in the order the data set is assembled. */
export const MNIST_ROLES = ["trainImages", "trainLabels", "testImages", "testLabels"] as const;
export type MnistRole = (typeof MNIST_ROLES)[number];

/** A file's name as distributed (gzip). */
export function gzName(role: MnistRole): string {
  return `${MNIST_FILES[role].name}.gz`;
}

/** One file's bytes and the name to use in messages. */
export interface NamedBytes {
  name: string;
  bytes: Uint8Array;
}

const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** Streams the (decompressed) contents of `file` into `push`, chunk by chunk. */
async function streamContents(file: NamedBytes, push: (chunk: Uint8Array) => void): Promise<void> {
  if (!isGzip(file.bytes)) {
    push(file.bytes);
    return;
  }
  const source = new Blob([file.bytes as Uint8Array<ArrayBuffer>]).stream();
  const reader = source.pipeThrough(new DecompressionStream("gzip")).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      push(value);
    }
  } catch (err) {
    throw new DataError(
      `gzip decompression failed: ${err instanceof Error ? err.message : String(err)}`,
      file.name,
    );
  }
}

/** Decodes one IDX file against its published description; returns its data bytes and record count. */
async function decodeFile(file: NamedBytes, known: KnownFile): Promise<{ data: Uint8Array; count: number }> {
  const labels = known.role.endsWith("labels");
  const sink = new IdxSink(
    file.name,
    labels
      ? { ndim: 1, innerDims: [], what: "MNIST labels" }
      : { ndim: 3, innerDims: [28, 28], what: "MNIST images" },
    (dims) => new Uint8Array(dims.reduce((a, d) => a * d, 1)),
  );
  await streamContents(file, sink.push);
  const idx = sink.finish();
  if (labels) checkLabels(idx.data, 10, file.name);
  return { data: idx.data, count: idx.dims[0]! };
}

/**
 * The MNIST data set (training images, then test images) from the four files; every problem is
 * a DataError naming the file.
 */
export async function decodeMnist(files: Record<MnistRole, NamedBytes>): Promise<Dataset> {
  const parts = {} as Record<MnistRole, { data: Uint8Array; count: number }>;
  for (const role of MNIST_ROLES) parts[role] = await decodeFile(files[role], MNIST_FILES[role]);
  for (const [img, lab] of [
    ["trainImages", "trainLabels"],
    ["testImages", "testLabels"],
  ] as const) {
    if (parts[img].count !== parts[lab].count) {
      throw new DataError(
        `holds ${parts[lab].count} labels but ${files[img].name} holds ${parts[img].count} images; expected equal counts`,
        files[lab].name,
      );
    }
  }
  const nTrain = parts.trainImages.count;
  const count = nTrain + parts.testImages.count;
  const pixels = new Uint8Array(count * 784);
  pixels.set(parts.trainImages.data, 0);
  pixels.set(parts.testImages.data, nTrain * 784);
  const labels = new Uint8Array(count);
  labels.set(parts.trainLabels.data, 0);
  labels.set(parts.testLabels.data, nTrain);
  return mnistDataset(pixels, labels, [], [], "(read in the browser)");
}
