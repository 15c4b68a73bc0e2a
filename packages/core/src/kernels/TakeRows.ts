/**
 * `TakeRows` (see ops/rows.ts) for the backends whose tensors live in host memory: rows of a
 * [n, width] float32 tensor, by the row indices in the attributes, copied row by row straight
 * in the backend's storage (one typed-array copy per row). For wasm and cpu.
 * tfjs-wasm's GatherV2 took 3-5 ms for 64 rows of 1,000 values, this kernel microseconds.
 */
import { hostKernelConfigs, type Info } from "./host-kernels.ts";
import { TAKE_ROWS, type TakeRowsAttrs } from "./names.ts";

/** TakeRows's configs for wasm and cpu: rows of x, copied row by row in the backend's storage. */
export const takeRowsConfigs = hostKernelConfigs(TAKE_ROWS, {
  outputs: (args) => {
    const { x } = args.inputs as { x: Info };
    const { rows } = args.attrs as unknown as TakeRowsAttrs;
    return [[rows.length, x.shape[1] as number]];
  },
  run: (args, view, [out]) => {
    const { x } = args.inputs as { x: Info };
    const { rows } = args.attrs as unknown as TakeRowsAttrs;
    const width = x.shape[1] as number;
    const src = view(x);
    for (let i = 0; i < rows.length; i++) {
      const r = (rows[i] as number) * width;
      out!.set(src.subarray(r, r + width), i * width);
    }
  },
});
