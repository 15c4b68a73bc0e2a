/**
 * Published sizes and checksums of the standard MNIST and CIFAR-10 files: MNIST gz md5s as in
 * torchvision's `MNIST.resources`, gz and decompressed sha256s as published in several public code
 * files; CIFAR-10 decompressed `.bin` sha256s as in torchvision-ruby's `TRAIN_LIST`/`TEST_LIST`.
 * One recognised prefix: records 0-999 of the official `test_batch.bin` (a partial test batch kept
 * under the published name), checked against the sha256 recorded when that prefix was cut.
 */

/**
 * Published name, decompressed size, sha256 and record count of a standard MNIST or CIFAR-10 file (or
 * of a recognised prefix of one), plus the official .gz's size and checksums where there is one.
 */
export interface KnownFile {
  readonly dataset: "mnist" | "cifar10";
  /** Logical role, also the key used in reports. */
  readonly role: string;
  /** Standard file name, uncompressed (a ".gz" copy is also accepted). */
  readonly name: string;
  readonly rawBytes: number;
  readonly rawSha256: string;
  readonly records: number;
  /** Set when this is the first `records` records of the published file `name`, not the whole file. */
  readonly prefix?: true;
  /** The official gzip file, where one is distributed (MNIST). */
  readonly gz?: { readonly bytes: number; readonly md5: string; readonly sha256: string };
}

/** The four MNIST IDX files: 60,000 training and 10,000 test images (28 x 28 bytes) and their labels. */
export const MNIST_FILES = {
  trainImages: {
    dataset: "mnist",
    role: "train-images",
    name: "train-images-idx3-ubyte",
    rawBytes: 47_040_016,
    rawSha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    records: 60_000,
    gz: {
      bytes: 9_912_422,
      md5: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
      sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    },
  },
  trainLabels: {
    dataset: "mnist",
    role: "train-labels",
    name: "train-labels-idx1-ubyte",
    rawBytes: 60_008,
    rawSha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    records: 60_000,
    gz: {
      bytes: 28_881,
      md5: "d53e105ee54ea40749a09fcbcd1e9432",
      sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    },
  },
  testImages: {
    dataset: "mnist",
    role: "test-images",
    name: "t10k-images-idx3-ubyte",
    rawBytes: 7_840_016,
    rawSha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    records: 10_000,
    gz: {
      bytes: 1_648_877,
      md5: "9fb629c4189551a2d022fa330f9573f3",
      sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    },
  },
  testLabels: {
    dataset: "mnist",
    role: "test-labels",
    name: "t10k-labels-idx1-ubyte",
    rawBytes: 10_008,
    rawSha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    records: 10_000,
    gz: {
      bytes: 4_542,
      md5: "ec29112dd5afa0611ce80d1b7f02629c",
      sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
  },
} as const satisfies Record<string, KnownFile>;

/** CIFAR-10 binary record: 1 label byte, then 1,024 R, 1,024 G, 1,024 B bytes (row-major 32 x 32). */
export const CIFAR10_RECORD_BYTES = 3_073;

function cifarBatch(role: string, rawSha256: string, records = 10_000, name = `${role}.bin`): KnownFile {
  return { dataset: "cifar10", role, name, rawBytes: records * CIFAR10_RECORD_BYTES, rawSha256, records };
}

/** CIFAR-10's training batches data_batch_1.bin .. data_batch_5.bin, 10,000 records each, in order. */
export const CIFAR10_TRAIN_FILES: readonly KnownFile[] = [
  cifarBatch("data_batch_1", "cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5"),
  cifarBatch("data_batch_2", "a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed"),
  cifarBatch("data_batch_3", "bbe8596564c0f86427f876058170b84dac6670ddf06d79402899d93ceea26f67"),
  cifarBatch("data_batch_4", "014e562d6e23c72197cc727519169a60359f5eccd8945ad5a09d710285ff4e48"),
  cifarBatch("data_batch_5", "755304fc0b379caeae8c14f0dac912fbc7d6cd469eb67a1029a08a39453a9add"),
];

/** CIFAR-10's complete test batch, test_batch.bin: 10,000 records. */
export const CIFAR10_TEST_FILE: KnownFile = cifarBatch(
  "test_batch",
  "8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b",
);

/** Records 0-999 of `test_batch.bin`: a recognised partial test batch (kept under the published name). */
export const CIFAR10_TEST_FIRST1000_FILE: KnownFile = {
  ...cifarBatch("test_batch", "8314c96d7cd65618193bab23acdd5d4c4af15bf6dd00a1781d55beedf3be1ef5", 1_000),
  prefix: true,
};

/** Describes a known file for messages: "the published X" or "records 0-N of the published X". */
export function describeKnown(k: KnownFile): string {
  const bytes = k.rawBytes.toLocaleString("en-US");
  return k.prefix
    ? `records 0-${k.records - 1} of the published ${k.name}, ${bytes} bytes`
    : `the published ${k.name}, ${bytes} bytes`;
}

/** CIFAR-10 class names, indexed by label 0..9. */
export const CIFAR10_CLASS_NAMES: readonly string[] = [
  "airplane",
  "automobile",
  "bird",
  "cat",
  "deer",
  "dog",
  "frog",
  "horse",
  "ship",
  "truck",
];

/** The official CIFAR-10 binary archive (dataset authors' host) and its published md5. */
export const CIFAR10_ARCHIVE = {
  url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
  md5: "c32a1d4ab5d03f1284b67883e8d87530",
  bytes: 170_052_171,
  memberDir: "cifar-10-batches-bin",
} as const;

/**
 * MNIST mirrors: torchvision's live one, then TensorFlow Datasets'. The original host
 * (yann.lecun.com/exdb/mnist) no longer serves the files and is not tried.
 */
export const MNIST_MIRRORS: readonly string[] = [
  "https://ossci-datasets.s3.amazonaws.com/mnist/",
  "https://storage.googleapis.com/cvdf-datasets/mnist/",
];
