# Reads what examples/save-deltas.ts wrote:  python3 examples/read_deltas.py OUT_DIR
import json, sys
import numpy as np

out = sys.argv[1] if len(sys.argv) > 1 else "deltas-out"
deltas = np.load(f"{out}/deltas.npy")  # float32 [updates, probes * classes]
labels = np.load(f"{out}/labels.npy")  # int32 [updates]
per_probe = deltas.reshape(len(deltas), -1, 10)  # [updates, probes, classes]
# before - after of two posteriors: each probe's difference sums to zero over the classes
print(json.dumps({"shape": list(deltas.shape), "dtype": str(deltas.dtype), "labels": labels[:5].tolist(),
                  "max_abs_row_sum": float(np.abs(per_probe.sum(axis=2)).max()),
                  "mean_abs_delta": float(np.abs(deltas).mean())}))
