/**
 * IDX format (MNIST): a 4-byte magic number 0x00 0x00 <type> <ndim>, then ndim big-endian uint32
 * dimensions, then the data. Only unsigned-byte data (type 0x08) is used here. Every mismatch between
 * the header and the file is an error naming the file and the expectation. `IdxSink` checks and
 * places the data while the file streams in.
 */

import { sizeFromShape } from "@updates-leak/core/shape";
import { DataError } from "./errors.ts";

export interface IdxExpectation {
  /** Number of dimensions, e.g. 3 for images, 1 for labels. */
  readonly ndim: number;
  /** Required sizes of dimensions 1..ndim-1 (dimension 0 is the record count), e.g. [28, 28]. */
  readonly innerDims: readonly number[];
  /** What the file should be, in words, for messages ("MNIST images"). */
  readonly what: string;
}

export interface IdxArray {
  readonly dims: readonly number[];
  /** The data bytes. */
  readonly data: Uint8Array;
}

const fmt = (n: number) => n.toLocaleString("en-US");
const hex32 = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, "0")}`;

function magicText(expect: IdxExpectation): string {
  const m = 0x00000800 | expect.ndim;
  return `${hex32(m)} (IDX, unsigned byte, ${expect.ndim} dimension${expect.ndim === 1 ? "" : "s"}) for ${expect.what}`;
}

function checkMagic(header: Uint8Array, path: string, expect: IdxExpectation): void {
  const magic = new DataView(header.buffer, header.byteOffset, 4).getUint32(0, false);
  if (magic !== (0x00000800 | expect.ndim)) {
    throw new DataError(`wrong magic number ${hex32(magic)}; expected ${magicText(expect)}`, path);
  }
}

/** Checks a complete header (4 + 4 * ndim bytes); returns the dimensions. */
function parseHeader(header: Uint8Array, path: string, expect: IdxExpectation): number[] {
  checkMagic(header, path, expect);
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const dims: number[] = [];
  for (let d = 0; d < expect.ndim; d++) dims.push(view.getUint32(4 + 4 * d, false));
  for (let d = 1; d < expect.ndim; d++) {
    if (dims[d] !== expect.innerDims[d - 1]) {
      throw new DataError(
        `header dimensions ${dims.join(" x ")} disagree with ${expect.what}: expected n x ${expect.innerDims.join(" x ")}`,
        path,
      );
    }
  }
  return dims;
}

/** Errors for a file of `totalBytes` whose header could not be read in full or whose size is wrong. */
function checkSize(totalBytes: number, dims: number[] | null, path: string, expect: IdxExpectation): void {
  const headerBytes = 4 + 4 * expect.ndim;
  if (dims === null) {
    throw new DataError(
      totalBytes < 4
        ? `truncated: ${totalBytes} bytes, too short for the IDX magic number ${magicText(expect)}`
        : `truncated: ${totalBytes} bytes, shorter than the ${headerBytes}-byte IDX header of ${expect.what}`,
      path,
    );
  }
  const expectedData = sizeFromShape(dims);
  const actualData = totalBytes - headerBytes;
  if (actualData !== expectedData) {
    throw new DataError(
      `${actualData < expectedData ? "truncated" : "too long"}: header dimensions ${dims.join(" x ")} need ` +
        `${fmt(expectedData)} data bytes (${fmt(expectedData + headerBytes)} in all), the file has ` +
        `${fmt(actualData)} (${fmt(totalBytes)} in all)`,
      path,
    );
  }
}

/**
 * Receives a file's bytes in chunks: checks the header as soon as it is complete (magic number,
 * dimensions), then copies the data into the array `place(dims)` returns (the exact data size), and
 * after the last chunk, `finish()` checks the size.
 */
export class IdxSink {
  private readonly header: Uint8Array;
  private headerFill = 0;
  private dims: number[] | null = null;
  private target: Uint8Array | null = null;
  private received = 0;
  private total = 0;

  constructor(
    private readonly path: string,
    private readonly expect: IdxExpectation,
    private readonly place: (dims: readonly number[]) => Uint8Array,
  ) {
    this.header = new Uint8Array(4 + 4 * expect.ndim);
  }

  readonly push = (chunk: Uint8Array): void => {
    this.total += chunk.length;
    let off = 0;
    if (this.dims === null) {
      const n = Math.min(this.header.length - this.headerFill, chunk.length);
      this.header.set(chunk.subarray(0, n), this.headerFill);
      this.headerFill += n;
      off = n;
      if (this.headerFill < this.header.length) {
        if (this.headerFill >= 4) checkMagic(this.header, this.path, this.expect); // already decidable
        return;
      }
      this.dims = parseHeader(this.header, this.path, this.expect);
      this.target = this.place(this.dims);
    }
    const target = this.target!;
    const n = Math.min(chunk.length - off, target.length - this.received);
    if (n > 0) target.set(chunk.subarray(off, off + n), this.received);
    this.received += chunk.length - off;
  };

  /** Checks the size; returns the dimensions and the data. */
  finish(): IdxArray {
    checkSize(this.total, this.dims, this.path, this.expect);
    return { dims: this.dims!, data: this.target! };
  }
}
