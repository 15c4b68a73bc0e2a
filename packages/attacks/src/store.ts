/**
 * Where a pipeline puts the deltas it generates. Pipelines take a store as an argument, so they stay
 * free of file I/O: tests use `MemoryShardStore`, the CLI a file-backed store with atomic shards,
 * a manifest (config hash, shard list, checksums) and resume.
 *
 * A shard holds `count` updated models: their deltas ([count, deltaSize], row-major) and their
 * ground truth ([count, truthSize]: a label, a label histogram, or the updating samples themselves).
 * Shard k is a pure function of (config, seed, k).
 */

/**
 * One shard: `count` updated models' deltas [count, deltaSize] and ground truth [count, truthSize],
 * row-major.
 */
export interface ShardData {
  count: number;
  deltaSize: number;
  truthSize: number;
  deltas: Float32Array;
  truth: Float32Array;
}

/** Where a pipeline reads and writes its shards, by index (see the file comment). */
export interface ShardStore {
  /** Shards already complete (and verified), by index. */
  completed(): Promise<Set<number>>;
  read(index: number): Promise<ShardData>;
  /** Must be atomic: a shard is either fully written or absent. */
  write(index: number, data: ShardData): Promise<void>;
}

/**
 * A ShardStore in memory (tests, benchmarks): `write` checks the arrays' sizes, `read` throws for a
 * shard never written.
 */
export class MemoryShardStore implements ShardStore {
  private readonly shards = new Map<number, ShardData>();
  async completed(): Promise<Set<number>> {
    return new Set(this.shards.keys());
  }
  async read(index: number): Promise<ShardData> {
    const s = this.shards.get(index);
    if (!s) throw new Error(`MemoryShardStore: shard ${index} was never written`);
    return s;
  }
  async write(index: number, data: ShardData): Promise<void> {
    if (
      data.deltas.length !== data.count * data.deltaSize ||
      data.truth.length !== data.count * data.truthSize
    ) {
      throw new Error(`MemoryShardStore: shard ${index} arrays do not match count x size`);
    }
    this.shards.set(index, data);
  }
}
