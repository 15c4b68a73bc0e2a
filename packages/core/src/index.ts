export * from "./backend/select.ts";
export * from "./random.ts";
export { tf } from "./tf.ts";
