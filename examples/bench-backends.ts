/**
 * Example (c): a backend microbenchmark. Times the engine on every backend this process can start
 * (webgpu, wasm, cpu): updated MNIST models per second, one SGD step on one sample each.
 *
 *   npx bun examples/bench-backends.ts        (the full suite: npm run bench -- engine)
 */
import {
  availableBackends,
  initParams,
  mnistCnn,
  PAPER_UPDATE,
  Rng,
  randomUpdateSets,
  selectBackend,
  UpdateEngine,
} from "@updates-leak/core";

const rng = new Rng("example-c");
const params = initParams(mnistCnn, rng);
const probes = rng.normals(100 * 784);
for (const backend of await availableBackends()) {
  await selectBackend({ backend, quiet: true });
  const engine = new UpdateEngine({
    spec: mnistCnn,
    original: params,
    probes,
    update: PAPER_UPDATE,
    dropout: false,
  });
  const sets = randomUpdateSets(mnistCnn, 64, 1, rng);
  await engine.deltas(sets, null); // warm-up: compiles shaders, grows memory
  const start = performance.now();
  await engine.deltas(sets, null);
  const seconds = (performance.now() - start) / 1000;
  engine.dispose();
  console.log(JSON.stringify({ example: "bench-backends", backend, modelsPerSecond: sets.count / seconds }));
}
