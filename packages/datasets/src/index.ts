/**
 * @updates-leak/datasets: MNIST, CIFAR-10 and Insta-NY (CSV or seeded synthetic) as plain typed arrays,
 * with verified files, the data-directory search order, download into the cache, seeded disjoint
 * splits, and normalisation with its inverse. No TensorFlow.js here.
 */

export {
  CIFAR10_MEAN,
  CIFAR10_STD,
  CIFAR10_TEST_RECORDS,
  type Cifar10Options,
  type Cifar10Paths,
  loadCifar10,
} from "./cifar10.ts";
export { labelHistogram } from "./dataset.ts";
export { type DownloadOptions, downloadCifar10, downloadMnist } from "./download.ts";
export { DataError } from "./errors.ts";
export {
  type FileCheck,
  fetchDataset,
  type VerifyReport,
  verifyDataset,
  type WhereReport,
  whereDataset,
} from "./inspect.ts";
export { type InstaCsvOptions, loadInstaCsv } from "./insta-csv.ts";
export {
  frequencyGuessAccuracy,
  generateInstaSynthetic,
  INSTA_SYNTHETIC_CLASSES,
  type InstaSyntheticOptions,
  instaSyntheticDataset,
} from "./insta-synthetic.ts";
export {
  CIFAR10_ARCHIVE,
  CIFAR10_CLASS_NAMES,
  CIFAR10_TEST_FILE,
  CIFAR10_TEST_FIRST1000_FILE,
  CIFAR10_TRAIN_FILES,
  describeKnown,
  type KnownFile,
  MNIST_FILES,
  MNIST_MIRRORS,
} from "./known-files.ts";
export {
  ensureDatasetFiles,
  howToProvide,
  type LoadOptions,
  type Located,
  loadDataset,
  partialPlaceError,
} from "./load.ts";
export {
  cacheDir,
  dataPlaces,
  describeLocation,
  downloadTarget,
  type FileDataset,
  fileRoles,
  type LocateOptions,
  type Location,
  locateDataset,
  type PlaceReport,
} from "./locate.ts";
export { loadMnist, MNIST_MEAN, MNIST_STD, type MnistPaths } from "./mnist.ts";
export { defaultTrainSize, makeSplits, type Side, type SplitOptions, type Splits } from "./splits.ts";
export type {
  Dataset,
  DatasetName,
  FileReport,
  Gathered,
  Normalization,
  ReconSpace,
  Verification,
} from "./types.ts";
export { DATASET_NAMES } from "./types.ts";
