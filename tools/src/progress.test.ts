import { describe, expect, test } from "bun:test";
import { formatDuration, formatRate, Progress } from "./progress.ts";

function fake(tty: boolean) {
  const out: string[] = [];
  let t = 0;
  const p = new Progress({
    stream: { write: (s: string) => out.push(s), isTTY: tty, columns: 100 },
    now: () => t,
    ttyIntervalMs: 100,
    plainIntervalMs: 10_000,
  });
  return {
    p,
    out,
    at(ms: number) {
      t = ms;
    },
  };
}

describe("progress", () => {
  test("durations and rates", () => {
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(95)).toBe("1m35s");
    expect(formatDuration(3700)).toBe("1h01m");
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe("?");
    expect(formatRate(85.34)).toBe("85.3/s");
    expect(formatRate(250.4)).toBe("250/s");
    expect(formatRate(0.5)).toBe("30.0/min");
  });

  test("plain mode: first line, throttled lines, final line with rate and ETA", () => {
    const f = fake(false);
    f.at(0);
    f.p.update("shadow deltas", 0, 1000);
    for (let i = 1; i < 1000; i++) {
      f.at(i * 20); // 50 models per second, 20 s in all
      f.p.update("shadow deltas", i, 1000);
    }
    f.at(20_000);
    f.p.update("shadow deltas", 1000, 1000);
    f.p.update("shadow deltas", 1000, 1000); // repeated completion prints nothing more
    expect(f.out).toEqual([
      "[shadow deltas] 0/1,000 0.0% ?/s ETA ?\n",
      "[shadow deltas] 500/1,000 50% 50.0/s ETA 10s\n",
      "[shadow deltas] 1,000/1,000 100% 50.0/s in 20s\n",
    ]);
  });

  test("tty mode: redraws in place at most every 100 ms, newline at completion, log keeps the bar", () => {
    const f = fake(true);
    f.at(0);
    f.p.update("train", 0, 10);
    f.at(50);
    f.p.update("train", 1, 10); // throttled
    f.at(1000);
    f.p.update("train", 5, 10);
    f.p.log("note");
    f.at(2000);
    f.p.update("train", 10, 10);
    expect(f.out.length).toBe(4);
    expect(f.out[0]).toStartWith("\r\x1b[2Ktrain [");
    expect(f.out[1]).toContain("5/10 50% 5.0/s ETA 1s");
    expect(f.out[1]).toContain("#".repeat(20) + "-".repeat(20));
    expect(f.out[2]).toStartWith("\r\x1b[2Knote\ntrain [");
    expect(f.out[3]).toBe(`\r\x1b[2Ktrain [${"#".repeat(40)}] 10/10 100% 5.0/s in 2s\n`);
  });

  test("a stage resumed part-way counts only new work in its rate", () => {
    const f = fake(false);
    f.at(0);
    f.p.update("shadow deltas", 600, 1000);
    f.at(20_000);
    f.p.update("shadow deltas", 800, 1000);
    f.at(40_000);
    f.p.update("shadow deltas", 1000, 1000);
    expect(f.out).toEqual([
      "[shadow deltas] 600/1,000 60% ?/s ETA ?\n",
      "[shadow deltas] 800/1,000 80% 10.0/s ETA 20s\n",
      "[shadow deltas] 1,000/1,000 100% 10.0/s in 40s\n",
    ]);
  });

  test("a stage first seen complete is timed from the previous activity", () => {
    const f = fake(false);
    f.at(1_000);
    f.p.log("loading");
    f.at(31_000);
    f.p.update("train shadow model", 1, 1);
    expect(f.out).toEqual(["loading\n", "[train shadow model] 1/1 100% 2.0/min in 30s\n"]);
  });

  test("a new stage ends the previous bar line", () => {
    const f = fake(true);
    f.p.update("a", 1, 3);
    f.p.update("b", 1, 3);
    expect(f.out[1]).toBe("\n");
    expect(f.out[2]).toStartWith("\r\x1b[2Kb [");
  });
});

describe("progress listeners (the run's log)", () => {
  test("hear each message and each finished stage once, not the bars; the undo stops them", () => {
    const f = fake(true);
    const heard: string[] = [];
    const undo = f.p.listen((l) => heard.push(l));
    f.at(0);
    f.p.update("train", 0, 4);
    f.at(500);
    f.p.update("train", 2, 4);
    f.p.log("a message");
    f.at(1000);
    f.p.update("train", 4, 4);
    f.p.update("train", 4, 4); // a repeat of the end draws nothing
    expect(heard).toEqual(["a message", "[train] 4/4 100% 4.0/s in 1s"]);
    expect(f.out.length).toBeGreaterThan(3); // the terminal saw the bars as well
    undo();
    f.p.log("after");
    expect(heard).toHaveLength(2);
  });
});
