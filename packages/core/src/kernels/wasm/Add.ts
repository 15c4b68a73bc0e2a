/** Add for tfjs-backend-wasm 4.22: a block-broadcast input in SIMD (broadcast-middle.ts), else the package's. */
import { broadcastMiddleConfig } from "./broadcast-middle.ts";

export const addConfig = broadcastMiddleConfig("Add", 0);
