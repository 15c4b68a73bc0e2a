/**
 * Registers tfjs-core's gradients (imported through `#tfjs-gradients`, see package.json "imports").
 *
 * Under Bun, and in bundles built with the `bun` condition, this file is what runs: it imports
 * tfjs-core's ES module that registers every gradient. Node and Deno refuse that module (its own
 * imports have no file extension), so the published build points `#tfjs-gradients` at
 * `dist/tfjs-gradients.js` instead: the same module bundled into one file by `tools/build.ts`. The
 * gradients land in tfjs's process-wide registry, shared with the tfjs-core that Node and Deno load.
 */
import "@tensorflow/tfjs-core/dist/register_all_gradients";
