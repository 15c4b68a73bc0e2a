import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FileShardStore } from "@updates-leak/tools";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "leak-shards-"));
const open = () =>
  FileShardStore.open({ dir, role: "shadow", configHash: "demo", config: {}, onWarn: (m) => console.log(`warning: ${m}`) });
const shard = (k: number) => ({ count: 2, deltaSize: 3, truthSize: 1, deltas: new Float32Array(6).fill(k), truth: new Float32Array([k, k]) });
const store = open();
for (const k of [0, 1, 2]) await store.write(k, shard(k)); // each write: temp file, fsync, rename, manifest
const file = path.join(dir, "shard-000001.bin");
fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 40)); // as if the machine died mid-write
const reopened = open(); // what a resumed run sees
console.log("complete shards:", [...(await reopened.completed())].sort().join(", "));
console.log("shard 2 deltas:", Array.from((await reopened.read(2)).deltas).join(" "));
fs.rmSync(dir, { recursive: true });
