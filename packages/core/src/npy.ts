/**
 * numpy's .npy format, version 1.0, for the arrays a run keeps (predictions/*.npy): the magic
 * string, a little-endian header length, a Python-literal header dict padded with spaces to a
 * multiple of 64 bytes and ending in a newline, then the data in C order. `np.load` reads it.
 */

const DESCR = { float32: "<f4", int32: "<i4" } as const;

/** The bytes of a .npy file holding `data` with `shape` (the product of shape is data.length). */
export function encodeNpy(data: Float32Array | Int32Array, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length)
    throw new Error(`encodeNpy: shape [${shape.join(", ")}] holds ${count} values, not ${data.length}`);
  const descr = data instanceof Float32Array ? DESCR.float32 : DESCR.int32;
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${dims}, }`;
  const unpadded = 10 + header.length + 1; // magic 6 + version 2 + length 2, then the newline
  header += `${" ".repeat((64 - (unpadded % 64)) % 64)}\n`;
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, ...new TextEncoder().encode("NUMPY"), 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const body = new DataView(out.buffer, 10 + header.length);
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Float32Array) body.setFloat32(i * 4, data[i]!, true);
    else body.setInt32(i * 4, data[i]!, true);
  }
  return out;
}
