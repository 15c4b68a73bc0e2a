/**
 * The CBM-GAN checkpoint format (`decodeMsrCheckpoint` describes it): the magic, version, JSON
 * header and float32 payload; `encodeMsrCheckpoint` writes one, `decodeMsrCheckpoint` reads and
 * checks one, `MsrCheckpointError` refuses one. Nothing here knows the nets or the optimisers:
 * msr.ts collects their tensors into an `MsrCheckpoint` after every epoch, and puts them back.
 */

/** The first 8 bytes of a CBM-GAN checkpoint (`decodeMsrCheckpoint` gives the whole format). */
export const MSR_CHECKPOINT_MAGIC = "ULMSRCKP";
const CHECKPOINT_VERSION = 1;

/** A checkpoint that cannot be resumed from; the message names where it is kept and what to do. */
export class MsrCheckpointError extends Error {
  constructor(
    readonly where: string,
    problem: string,
  ) {
    super(`${where}: ${problem}`);
    this.name = "MsrCheckpointError";
  }
}

/**
 * One CBM-GAN training epoch (counting from 1): mean discriminator and generator losses over its
 * steps, the best-match term, and its wall time in seconds.
 */
export interface GanEpochReport {
  epoch: number;
  epochs: number;
  dLoss: number;
  /** Generator loss: adversarial + weight * best match. */
  gLoss: number;
  /** Best-match term alone (computed even when disabled in the loss). */
  bestMatch: number;
  seconds: number;
}

/** One tensor of a checkpoint: its name (e.g. `gen.0.w`, `adam.d.3.m`), shape and values. */
export interface CheckpointTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** A decoded CBM-GAN checkpoint (`decodeMsrCheckpoint`): the training state after `epoch` epochs. */
export interface MsrCheckpoint {
  /** Canonical JSON of what the training depended on: the hook's key, settings, sizes, seed, backend. */
  identity: string;
  /** Epochs done (from 1). */
  epoch: number;
  /** Epochs the training was set to run. */
  epochs: number;
  /** One report per epoch done, as the uninterrupted training made them. */
  history: GanEpochReport[];
  /** Step count and learning rate of the discriminator's (d) and generator's (g) optimiser. */
  adam: { d: { t: number; lr: number }; g: { t: number; lr: number } };
  /**
   * Per net (`delta`, `gen`, `disc`) and layer i: `<net>.<i>.w`, `.b`, and with batch norm
   * `.bn.gamma`, `.bn.beta`, `.bn.runningMean`, `.bn.runningVar`; per optimiser (`d`, `g`) and
   * variable j: `adam.<d|g>.<j>.m`, `.v`; the fitted preprocessing: `scaler.mean`, `scaler.std`.
   */
  tensors: CheckpointTensor[];
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** JSON with object keys sorted at every depth: the same value gives the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v) && !ArrayBuffer.isView(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** FNV-1a over 32-bit words (the payload is a whole number of float32 values). */
function checksumWords(words: Uint32Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ (words[i] as number), 0x01000193);
  return h >>> 0;
}

/** Dotted paths (two levels into objects, and into `key` when it is JSON) where two identities differ. */
export function identityDifferences(saved: string, now: string): string[] {
  const flat = (v: unknown, prefix: string, depth: number, out: Map<string, string>) => {
    if (typeof v === "string" && prefix === "key" && v.startsWith("{")) {
      try {
        v = JSON.parse(v);
      } catch {
        // not JSON: compared as a string
      }
    }
    if (v && typeof v === "object" && !Array.isArray(v) && depth < 3) {
      for (const [k, x] of Object.entries(v)) flat(x, prefix ? `${prefix}.${k}` : k, depth + 1, out);
    } else out.set(prefix, JSON.stringify(v) ?? "undefined");
    return out;
  };
  const a = flat(JSON.parse(saved), "", 0, new Map());
  const b = flat(JSON.parse(now), "", 0, new Map());
  const short = (x: string | undefined) =>
    x === undefined ? "(none)" : x.length > 40 ? `${x.slice(0, 37)}...` : x;
  return [...new Set([...a.keys(), ...b.keys()])]
    .filter((k) => a.get(k) !== b.get(k))
    .map((k) => `${k}: ${short(a.get(k))} -> ${short(b.get(k))}`);
}

/**
 * The bytes of a checkpoint (`decodeMsrCheckpoint` describes them): the header fields as JSON, the
 * tensors' values back to back in the order given. Only reads `ck`.
 */
export function encodeMsrCheckpoint(ck: MsrCheckpoint): Uint8Array {
  if (!LITTLE_ENDIAN) throw new Error("CBM-GAN checkpoints need a little-endian host");
  const { tensors } = ck;
  const payloadBytes = tensors.reduce((a, x) => a + x.data.byteLength, 0);
  const payload = new Uint8Array(payloadBytes);
  let off = 0;
  for (const x of tensors) {
    payload.set(new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength), off);
    off += x.data.byteLength;
  }
  const header = new TextEncoder().encode(
    JSON.stringify({
      identity: ck.identity,
      epoch: ck.epoch,
      epochs: ck.epochs,
      history: ck.history,
      adam: ck.adam,
      tensors: tensors.map((x) => ({ name: x.name, shape: x.shape })),
      payloadBytes,
      checksum: checksumWords(new Uint32Array(payload.buffer)),
    }),
  );
  const start = (16 + header.length + 3) & ~3;
  const out = new Uint8Array(start + payloadBytes);
  out.set(new TextEncoder().encode(MSR_CHECKPOINT_MAGIC), 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, CHECKPOINT_VERSION, true);
  dv.setUint32(12, header.length, true);
  out.set(header, 16);
  out.set(payload, start);
  return out;
}

/** A finite number or, for a loss JSON wrote as null, NaN. */
function lossOf(v: unknown): number {
  return v === null ? Number.NaN : (v as number);
}

/**
 * Reads a CBM-GAN checkpoint, checking its structure and checksum; `where` names it in errors
 * (`MsrCheckpointError`). The format, version 1, integers little-endian: the 8 bytes of
 * `MSR_CHECKPOINT_MAGIC`; u32 version; u32 header length H; H bytes of UTF-8 JSON (identity,
 * epoch, epochs, history, adam, tensors [{ name, shape }] in payload order, payloadBytes, and
 * checksum: FNV-1a over the payload's 32-bit words); zero padding to a multiple of 4 bytes; the
 * payload, the tensors' float32 values back to back.
 */
export function decodeMsrCheckpoint(bytes: Uint8Array, where = "CBM-GAN checkpoint"): MsrCheckpoint {
  const bad = (why: string) =>
    new MsrCheckpointError(
      where,
      `not a usable CBM-GAN checkpoint (${why}); delete it to train from epoch 1`,
    );
  if (!LITTLE_ENDIAN) throw new Error("CBM-GAN checkpoints need a little-endian host");
  if (bytes.length < 16 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MSR_CHECKPOINT_MAGIC)
    throw bad(`it does not start with ${MSR_CHECKPOINT_MAGIC}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== CHECKPOINT_VERSION)
    throw bad(`format version ${version}, this code reads ${CHECKPOINT_VERSION}`);
  const headerLength = dv.getUint32(12, true);
  if (16 + headerLength > bytes.length) throw bad("truncated header");
  let h: {
    identity: string;
    epoch: number;
    epochs: number;
    history: GanEpochReport[];
    adam: MsrCheckpoint["adam"];
    tensors: { name: string; shape: number[] }[];
    payloadBytes: number;
    checksum: number;
  };
  try {
    h = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(16, 16 + headerLength)));
  } catch (e) {
    throw bad(`header: ${(e as Error).message}`);
  }
  const start = (16 + headerLength + 3) & ~3;
  if (
    typeof h?.identity !== "string" ||
    !Number.isInteger(h.epoch) ||
    !Number.isInteger(h.epochs) ||
    h.epoch < 1 ||
    h.epoch > h.epochs ||
    !Array.isArray(h.history) ||
    h.history.length !== h.epoch ||
    !Array.isArray(h.tensors) ||
    !Number.isInteger(h.adam?.d?.t) ||
    !Number.isInteger(h.adam?.g?.t) ||
    typeof h.adam.d.lr !== "number" ||
    typeof h.adam.g.lr !== "number" ||
    !Number.isInteger(h.payloadBytes) ||
    h.payloadBytes % 4 !== 0
  )
    throw bad("incomplete header");
  if (bytes.length - start !== h.payloadBytes)
    throw bad(`${bytes.length - start} payload bytes, the header says ${h.payloadBytes}`);
  const payload = new Uint8Array(h.payloadBytes); // own, aligned copy (a Buffer's slice is a view)
  payload.set(bytes.subarray(start));
  if (checksumWords(new Uint32Array(payload.buffer)) !== h.checksum) throw bad("checksum mismatch");
  const floats = new Float32Array(payload.buffer);
  let off = 0;
  const tensors = h.tensors.map(({ name, shape }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    if (off + size > floats.length) throw bad(`tensor ${name} runs past the payload`);
    const data = floats.subarray(off, off + size);
    off += size;
    return { name, shape, data };
  });
  if (off !== floats.length) throw bad("the tensors do not fill the payload");
  const history = h.history.map((r) => ({
    ...r,
    dLoss: lossOf(r.dLoss),
    gLoss: lossOf(r.gLoss),
    bestMatch: lossOf(r.bestMatch),
  }));
  return { identity: h.identity, epoch: h.epoch, epochs: h.epochs, history, adam: h.adam, tensors };
}
