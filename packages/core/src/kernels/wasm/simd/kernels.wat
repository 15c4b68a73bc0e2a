;; Hand-written WebAssembly SIMD kernels that run on tfjs-backend-wasm's own heap: the module
;; imports the backend's memory (shared in its threaded build: the memory type below becomes
;; `1 65536 shared` or `1` when the binary is generated), so every pointer below is a byte
;; offset of a tensor the backend owns. Single-threaded; each function is the body of one kernel
;; in ../ (named in its comment). Regenerate kernels.wasm.ts with `npm run gen:simd` after an edit;
;; kernels.test.ts fails while the two disagree.
(module
  (import "env" "memory" (memory MEMORY_TYPE))

  ;; MaxPoolGrad.ts, 2x2 windows at stride 2 without padding, C >= 4 channels, channels innermost.
  ;; x [batch, H, W, C], dy [batch, oH, oW, C] -> dx [batch, H, W, C], each window's dy sent to its
  ;; first (row-major) strictly greatest value; NaN never wins, nor does -Infinity; a window
  ;; nobody wins sends nothing. Positions no window covers (odd H or W) are not written.
  ;; Channels go four at a time; the last group is moved back to C - 4, so it overlaps the one
  ;; before it and writes the same values again (outputs are stored, never accumulated).
  (func (export "maxPoolGrad2x2")
    (param $x i32) (param $dy i32) (param $dx i32)
    (param $batch i32) (param $H i32) (param $W i32) (param $C i32) (param $oH i32) (param $oW i32)
    (local $b i32) (local $yr i32) (local $yc i32) (local $d i32)
    (local $base i32) (local $o i32) (local $rowBytes i32) (local $cBytes i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    (local $v v128) (local $best v128) (local $m0 v128) (local $m1 v128) (local $m2 v128)
    (local $m3 v128) (local $g v128) (local $taken v128) (local $ninf v128)
    (local.set $ninf (f32x4.splat (f32.const -inf)))
    (local.set $cBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $rowBytes (i32.mul (local.get $W) (local.get $cBytes)))
    (if (i32.or (i32.or (i32.lt_s (local.get $C) (i32.const 4)) (i32.le_s (local.get $batch) (i32.const 0)))
                (i32.or (i32.le_s (local.get $oH) (i32.const 0)) (i32.le_s (local.get $oW) (i32.const 0))))
      (then (return)))
    (local.set $b (i32.const 0))
    (loop $batches
      (local.set $yr (i32.const 0))
      (loop $rows
        (local.set $yc (i32.const 0))
        (loop $cols
          ;; base: element index of the window's top-left value; o: of its dy
          (local.set $base (i32.mul
            (i32.add
              (i32.mul (i32.add (i32.mul (local.get $b) (local.get $H)) (i32.shl (local.get $yr) (i32.const 1)))
                       (local.get $W))
              (i32.shl (local.get $yc) (i32.const 1)))
            (local.get $C)))
          (local.set $o (i32.mul
            (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $oH)) (local.get $yr)) (local.get $oW))
                     (local.get $yc))
            (local.get $C)))
          (local.set $d (i32.const 0))
          (loop $channels
            (if (i32.gt_s (local.get $d) (i32.sub (local.get $C) (i32.const 4)))
              (then (local.set $d (i32.sub (local.get $C) (i32.const 4)))))
            (local.set $p0 (i32.shl (i32.add (local.get $base) (local.get $d)) (i32.const 2)))
            (local.set $p1 (i32.add (local.get $p0) (local.get $cBytes)))
            (local.set $p2 (i32.add (local.get $p0) (local.get $rowBytes)))
            (local.set $p3 (i32.add (local.get $p2) (local.get $cBytes)))
            (local.set $v (v128.load (i32.add (local.get $x) (local.get $p0))))
            (local.set $m0 (f32x4.gt (local.get $v) (local.get $ninf)))
            (local.set $best (v128.bitselect (local.get $v) (local.get $ninf) (local.get $m0)))
            (local.set $v (v128.load (i32.add (local.get $x) (local.get $p1))))
            (local.set $m1 (f32x4.gt (local.get $v) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $m1)))
            (local.set $v (v128.load (i32.add (local.get $x) (local.get $p2))))
            (local.set $m2 (f32x4.gt (local.get $v) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $m2)))
            (local.set $v (v128.load (i32.add (local.get $x) (local.get $p3))))
            (local.set $m3 (f32x4.gt (local.get $v) (local.get $best)))
            (local.set $g (v128.load (i32.add (local.get $dy)
              (i32.shl (i32.add (local.get $o) (local.get $d)) (i32.const 2)))))
            ;; the last position that beat the running best wins
            (v128.store (i32.add (local.get $dx) (local.get $p3)) (v128.and (local.get $g) (local.get $m3)))
            (local.set $taken (local.get $m3))
            (v128.store (i32.add (local.get $dx) (local.get $p2))
              (v128.and (local.get $g) (v128.andnot (local.get $m2) (local.get $taken))))
            (local.set $taken (v128.or (local.get $taken) (local.get $m2)))
            (v128.store (i32.add (local.get $dx) (local.get $p1))
              (v128.and (local.get $g) (v128.andnot (local.get $m1) (local.get $taken))))
            (local.set $taken (v128.or (local.get $taken) (local.get $m1)))
            (v128.store (i32.add (local.get $dx) (local.get $p0))
              (v128.and (local.get $g) (v128.andnot (local.get $m0) (local.get $taken))))
            (local.set $d (i32.add (local.get $d) (i32.const 4)))
            (br_if $channels (i32.lt_s (local.get $d) (local.get $C))))
          (local.set $yc (i32.add (local.get $yc) (i32.const 1)))
          (br_if $cols (i32.lt_s (local.get $yc) (local.get $oW))))
        (local.set $yr (i32.add (local.get $yr) (i32.const 1)))
        (br_if $rows (i32.lt_s (local.get $yr) (local.get $oH))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $batches (i32.lt_s (local.get $b) (local.get $batch))))
  )
;; Transpose.ts: x [A, N, M, c] -> y [A, M, N, c] (the two middle axes swapped), c >= 4 values
  ;; of 4 bytes each moved as one block: four at a time, the last four moved back to c - 4 (an
  ;; overlapping copy of the same values). x is read in order; y is written block by block.
  (func (export "swapMiddle")
    (param $x i32) (param $y i32) (param $A i32) (param $N i32) (param $M i32) (param $c i32)
    (local $a i32) (local $n i32) (local $m i32) (local $j i32) (local $src i32) (local $dst i32)
    (local $block i32) (local $rowStride i32) (local $last i32)
    (if (i32.or (i32.lt_s (local.get $c) (i32.const 4))
                (i32.or (i32.le_s (local.get $A) (i32.const 0))
                        (i32.or (i32.le_s (local.get $N) (i32.const 0)) (i32.le_s (local.get $M) (i32.const 0)))))
      (then (return)))
    (local.set $block (i32.shl (local.get $c) (i32.const 2)))
    (local.set $rowStride (i32.mul (local.get $N) (local.get $block)))
    (local.set $last (i32.shl (i32.sub (local.get $c) (i32.const 4)) (i32.const 2)))
    (local.set $src (local.get $x))
    (local.set $a (i32.const 0))
    (loop $as
      (local.set $n (i32.const 0))
      (loop $ns
        ;; y[a, 0, n, :]
        (local.set $dst (i32.add (local.get $y)
          (i32.mul (i32.add (i32.mul (i32.mul (local.get $a) (local.get $M)) (local.get $N)) (local.get $n))
                   (local.get $block))))
        (local.set $m (i32.const 0))
        (loop $ms
          (local.set $j (i32.const 0))
          (loop $js
            (if (i32.gt_s (local.get $j) (local.get $last)) (then (local.set $j (local.get $last))))
            (v128.store (i32.add (local.get $dst) (local.get $j)) (v128.load (i32.add (local.get $src) (local.get $j))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br_if $js (i32.lt_s (local.get $j) (local.get $block))))
          (local.set $src (i32.add (local.get $src) (local.get $block)))
          (local.set $dst (i32.add (local.get $dst) (local.get $rowStride)))
          (local.set $m (i32.add (local.get $m) (i32.const 1)))
          (br_if $ms (i32.lt_s (local.get $m) (local.get $M))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $ns (i32.lt_s (local.get $n) (local.get $N))))
      (local.set $a (i32.add (local.get $a) (i32.const 1)))
      (br_if $as (i32.lt_s (local.get $a) (local.get $A))))
  )
;; Reverse.ts: x [A, N, c] -> y [A, N, c] with the N axis reversed, c >= 4 values of 4 bytes
  ;; per block, copied as in swapMiddle.
  (func (export "reverseMiddle")
    (param $x i32) (param $y i32) (param $A i32) (param $N i32) (param $c i32)
    (local $a i32) (local $n i32) (local $j i32) (local $src i32) (local $dst i32)
    (local $block i32) (local $last i32)
    (if (i32.or (i32.lt_s (local.get $c) (i32.const 4))
                (i32.or (i32.le_s (local.get $A) (i32.const 0)) (i32.le_s (local.get $N) (i32.const 0))))
      (then (return)))
    (local.set $block (i32.shl (local.get $c) (i32.const 2)))
    (local.set $last (i32.shl (i32.sub (local.get $c) (i32.const 4)) (i32.const 2)))
    (local.set $src (local.get $x))
    (local.set $a (i32.const 0))
    (loop $as
      ;; y[a, N - 1, :]
      (local.set $dst (i32.add (local.get $y)
        (i32.mul (i32.sub (i32.mul (i32.add (local.get $a) (i32.const 1)) (local.get $N)) (i32.const 1))
                 (local.get $block))))
      (local.set $n (i32.const 0))
      (loop $ns
        (local.set $j (i32.const 0))
        (loop $js
          (if (i32.gt_s (local.get $j) (local.get $last)) (then (local.set $j (local.get $last))))
          (v128.store (i32.add (local.get $dst) (local.get $j)) (v128.load (i32.add (local.get $src) (local.get $j))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br_if $js (i32.lt_s (local.get $j) (local.get $block))))
        (local.set $src (i32.add (local.get $src) (local.get $block)))
        (local.set $dst (i32.sub (local.get $dst) (local.get $block)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $ns (i32.lt_s (local.get $n) (local.get $N))))
      (local.set $a (i32.add (local.get $a) (i32.const 1)))
      (br_if $as (i32.lt_s (local.get $a) (local.get $A))))
  )

  ;; Add.ts and Multiply.ts (broadcast-middle.ts): out[a, n, :] = x[a, n, :] op y[a, :] for x [A, N, c],
  ;; y [A, c], float32, c >= 4; op 0 adds, 1 multiplies. One IEEE operation per value, as the
  ;; package's kernels do.
  (func (export "broadcastMiddle")
    (param $op i32) (param $x i32) (param $y i32) (param $out i32) (param $A i32) (param $N i32) (param $c i32)
    (local $a i32) (local $n i32) (local $j i32) (local $src i32) (local $dst i32) (local $row i32)
    (local $block i32) (local $last i32) (local $v v128) (local $w v128)
    (if (i32.or (i32.lt_s (local.get $c) (i32.const 4))
                (i32.or (i32.le_s (local.get $A) (i32.const 0)) (i32.le_s (local.get $N) (i32.const 0))))
      (then (return)))
    (local.set $block (i32.shl (local.get $c) (i32.const 2)))
    (local.set $last (i32.shl (i32.sub (local.get $c) (i32.const 4)) (i32.const 2)))
    (local.set $src (local.get $x))
    (local.set $dst (local.get $out))
    (local.set $a (i32.const 0))
    (loop $as
      (local.set $row (i32.add (local.get $y) (i32.mul (local.get $a) (local.get $block))))
      (local.set $n (i32.const 0))
      (loop $ns
        (local.set $j (i32.const 0))
        (loop $js
          (if (i32.gt_s (local.get $j) (local.get $last)) (then (local.set $j (local.get $last))))
          (local.set $v (v128.load (i32.add (local.get $src) (local.get $j))))
          (local.set $w (v128.load (i32.add (local.get $row) (local.get $j))))
          (v128.store (i32.add (local.get $dst) (local.get $j))
            (if (result v128) (local.get $op)
              (then (f32x4.mul (local.get $v) (local.get $w)))
              (else (f32x4.add (local.get $v) (local.get $w)))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br_if $js (i32.lt_s (local.get $j) (local.get $block))))
        (local.set $src (i32.add (local.get $src) (local.get $block)))
        (local.set $dst (i32.add (local.get $dst) (local.get $block)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $ns (i32.lt_s (local.get $n) (local.get $N))))
      (local.set $a (i32.add (local.get $a) (i32.const 1)))
      (br_if $as (i32.lt_s (local.get $a) (local.get $A))))
  )
;; Sum.ts: out[o, i] = the float32 sum over m in order of x[o, m, i], for x [outer, mid, inner]
  ;; with inner >= 4: the package's order (its loop adds them in order after its transpose).
  ;; Sixteen lanes of i at a time in four accumulators, one pass over mid each; the last
  ;; vectors are moved back to fit, so some lanes are summed twice, each time from +0 and in the
  ;; same order: the same values, stored once at the end.
  (func (export "sumMiddle")
    (param $x i32) (param $out i32) (param $outer i32) (param $mid i32) (param $inner i32)
    (local $o i32) (local $m i32) (local $i0 i32) (local $row i32) (local $src i32) (local $dst i32)
    (local $last i32) (local $rowBytes i32) (local $off0 i32) (local $off1 i32) (local $off2 i32) (local $off3 i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (if (i32.or (i32.lt_s (local.get $inner) (i32.const 4))
                (i32.or (i32.le_s (local.get $outer) (i32.const 0)) (i32.lt_s (local.get $mid) (i32.const 0))))
      (then (return)))
    (local.set $rowBytes (i32.shl (local.get $inner) (i32.const 2)))
    (local.set $last (i32.shl (i32.sub (local.get $inner) (i32.const 4)) (i32.const 2)))
    (local.set $o (i32.const 0))
    (loop $outers
      (local.set $row (i32.add (local.get $x) (i32.mul (i32.mul (local.get $o) (local.get $mid)) (local.get $rowBytes))))
      (local.set $dst (i32.add (local.get $out) (i32.mul (local.get $o) (local.get $rowBytes))))
      (local.set $i0 (i32.const 0))
      (loop $tiles
        ;; byte offsets of this tile's four vectors, moved back to fit
        (local.set $off0 (i32.shl (local.get $i0) (i32.const 2)))
        (local.set $off1 (i32.add (local.get $off0) (i32.const 16)))
        (local.set $off2 (i32.add (local.get $off0) (i32.const 32)))
        (local.set $off3 (i32.add (local.get $off0) (i32.const 48)))
        (if (i32.gt_s (local.get $off0) (local.get $last)) (then (local.set $off0 (local.get $last))))
        (if (i32.gt_s (local.get $off1) (local.get $last)) (then (local.set $off1 (local.get $last))))
        (if (i32.gt_s (local.get $off2) (local.get $last)) (then (local.set $off2 (local.get $last))))
        (if (i32.gt_s (local.get $off3) (local.get $last)) (then (local.set $off3 (local.get $last))))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $a2 (v128.const i32x4 0 0 0 0))
        (local.set $a3 (v128.const i32x4 0 0 0 0))
        (local.set $src (local.get $row))
        (local.set $m (i32.const 0))
        (block $midDone
          (loop $mids
            (br_if $midDone (i32.ge_s (local.get $m) (local.get $mid)))
            (local.set $a0 (f32x4.add (local.get $a0) (v128.load (i32.add (local.get $src) (local.get $off0)))))
            (local.set $a1 (f32x4.add (local.get $a1) (v128.load (i32.add (local.get $src) (local.get $off1)))))
            (local.set $a2 (f32x4.add (local.get $a2) (v128.load (i32.add (local.get $src) (local.get $off2)))))
            (local.set $a3 (f32x4.add (local.get $a3) (v128.load (i32.add (local.get $src) (local.get $off3)))))
            (local.set $src (i32.add (local.get $src) (local.get $rowBytes)))
            (local.set $m (i32.add (local.get $m) (i32.const 1)))
            (br $mids)))
        (v128.store (i32.add (local.get $dst) (local.get $off0)) (local.get $a0))
        (v128.store (i32.add (local.get $dst) (local.get $off1)) (local.get $a1))
        (v128.store (i32.add (local.get $dst) (local.get $off2)) (local.get $a2))
        (v128.store (i32.add (local.get $dst) (local.get $off3)) (local.get $a3))
        (local.set $i0 (i32.add (local.get $i0) (i32.const 16)))
        (br_if $tiles (i32.lt_s (local.get $i0) (local.get $inner))))
      (local.set $o (i32.add (local.get $o) (i32.const 1)))
      (br_if $outers (i32.lt_s (local.get $o) (local.get $outer))))
  )

  ;; GroupedConvPoolGrad.ts: the sparse gradient of y = relu(maxpool2x2(conv(x, w) + b)) * mask for
  ;; G groups of B samples. dy, y [GB, ph, pw, O]; idx [GB, ph, pw, O] (i32, each window's winner
  ;; 2 * row + column, from poolReluMask2x2); x [GB, H, W, C]; mask [GB, O] or 0 (none);
  ;; wT [G, O, k, kCp] or 0 (no input gradient); dwT [G, O, k, kCp], db [G, O] and dx
  ;; [GB, H, W, C] (or 0) accumulate and must start at zero. Rows of wT and dwT are padded to kCp,
  ;; k*C rounded up to a multiple of 4, and x must be readable kCp - k*C values past its end:
  ;; dwT's rows take whole vectors, their pad is junk.
  ;; Each pooled output with y > 0 and v = dy * mask nonzero sends v to its window's winner at
  ;; (i, j): db += v; for each filter row ky the k*C contiguous values x[n, i+ky, j.., :] times v
  ;; into dwT's row, and wT's row times v into dx[n, i+ky, j.., :]. Four values per instruction
  ;; (dx's last k*C mod 4 one at a time): each a float32 multiply and add, as the JavaScript
  ;; path does them, in the order (sample, pooled row, pooled column, channel).
  (func (export "convPoolGrad")
    (param $dy i32) (param $y i32) (param $idx i32) (param $x i32) (param $mask i32) (param $wT i32)
    (param $dwT i32) (param $db i32) (param $dx i32)
    (param $GB i32) (param $B i32) (param $H i32) (param $W i32) (param $C i32) (param $k i32) (param $O i32)
    (local $n i32) (local $g i32) (local $pi i32) (local $pj i32) (local $o i32) (local $yi i32)
    (local $oh i32) (local $ow i32) (local $ph i32) (local $pw i32) (local $kCb i32) (local $vecEnd i32)
    (local $zO i32) (local $at i32)
    (local $i i32) (local $j i32) (local $ky i32) (local $xp i32) (local $dp i32) (local $wr i32) (local $t i32) (local $p i32)
    (local $kCpb i32) (local $xRowB i32)
    (local $v f32) (local $vv v128)
    (local.set $oh (i32.add (i32.sub (local.get $H) (local.get $k)) (i32.const 1)))
    (local.set $ow (i32.add (i32.sub (local.get $W) (local.get $k)) (i32.const 1)))
    (local.set $ph (i32.shr_s (local.get $oh) (i32.const 1)))
    (local.set $pw (i32.shr_s (local.get $ow) (i32.const 1)))
    (if (i32.or (i32.or (i32.le_s (local.get $GB) (i32.const 0)) (i32.le_s (local.get $B) (i32.const 0)))
                (i32.or (i32.le_s (local.get $ph) (i32.const 0)) (i32.le_s (local.get $pw) (i32.const 0))))
      (then (return)))
    ;; byte sizes: a filter row of k*C values; its whole vectors end at vecEnd
    (local.set $kCb (i32.shl (i32.mul (local.get $k) (local.get $C)) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $kCb) (i32.const -16)))
    (local.set $kCpb (i32.and (i32.add (local.get $kCb) (i32.const 15)) (i32.const -16)))
    (local.set $xRowB (i32.shl (i32.mul (local.get $W) (local.get $C)) (i32.const 2)))
    (local.set $zO (i32.shl (local.get $O) (i32.const 2)))
    (local.set $yi (i32.const 0))
    (local.set $n (i32.const 0))
    (loop $samples
      (local.set $g (i32.div_u (local.get $n) (local.get $B)))
      (local.set $pi (i32.const 0))
      (loop $prows
        (local.set $pj (i32.const 0))
        (loop $pcols
          (local.set $o (i32.const 0))
          (loop $channels
            (block $skip
              (br_if $skip (i32.eqz (f32.gt (f32.load (i32.add (local.get $y) (local.get $yi))) (f32.const 0))))
              (local.set $v (f32.load (i32.add (local.get $dy) (local.get $yi))))
              (if (local.get $mask)
                (then (local.set $v (f32.mul (local.get $v)
                  (f32.load (i32.add (local.get $mask)
                    (i32.shl (i32.add (i32.mul (local.get $n) (local.get $O)) (local.get $o)) (i32.const 2))))))))
              (br_if $skip (f32.eq (local.get $v) (f32.const 0)))
              ;; the window's winner, as the forward kernel chose it
              (local.set $at (i32.load (i32.add (local.get $idx) (local.get $yi))))
              (local.set $i (i32.add (i32.shl (local.get $pi) (i32.const 1)) (i32.shr_u (local.get $at) (i32.const 1))))
              (local.set $j (i32.add (i32.shl (local.get $pj) (i32.const 1)) (i32.and (local.get $at) (i32.const 1))))
              (local.set $p (i32.add (local.get $db)
                (i32.shl (i32.add (i32.mul (local.get $g) (local.get $O)) (local.get $o)) (i32.const 2))))
              (f32.store (local.get $p) (f32.add (f32.load (local.get $p)) (local.get $v)))
              (local.set $vv (f32x4.splat (local.get $v)))
              ;; xp: x[n, i, j, 0]; dp: its place in dx; wr: row (g, o, 0) of dwT and wT
              (local.set $xp (i32.add (local.get $x) (i32.shl
                (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $H)) (local.get $i)) (local.get $W))
                                  (local.get $j))
                         (local.get $C))
                (i32.const 2))))
              (local.set $dp (i32.add (local.get $dx) (i32.sub (local.get $xp) (local.get $x))))
              (local.set $wr (i32.mul (i32.mul (i32.add (i32.mul (local.get $g) (local.get $O)) (local.get $o)) (local.get $k))
                                      (local.get $kCpb)))
              (local.set $ky (i32.const 0))
              (loop $filterRows
                ;; dwT's padded row, whole vectors (x is readable past its rows' ends)
                (local.set $t (i32.const 0))
                (loop $dwVecs
                  (local.set $p (i32.add (local.get $dwT) (i32.add (local.get $wr) (local.get $t))))
                  (v128.store (local.get $p) (f32x4.add (v128.load (local.get $p))
                    (f32x4.mul (local.get $vv) (v128.load (i32.add (local.get $xp) (local.get $t))))))
                  (local.set $t (i32.add (local.get $t) (i32.const 16)))
                  (br_if $dwVecs (i32.lt_u (local.get $t) (local.get $kCpb))))
                (if (local.get $dx)
                  (then
                    (local.set $t (i32.const 0))
                    (block $vecDone
                      (loop $vecs
                        (br_if $vecDone (i32.ge_u (local.get $t) (local.get $vecEnd)))
                        (local.set $p (i32.add (local.get $dp) (local.get $t)))
                        (v128.store (local.get $p) (f32x4.add (v128.load (local.get $p))
                          (f32x4.mul (local.get $vv) (v128.load (i32.add (local.get $wT) (i32.add (local.get $wr) (local.get $t)))))))
                        (local.set $t (i32.add (local.get $t) (i32.const 16)))
                        (br $vecs)))
                    (block $tailDone
                      (loop $tail
                        (br_if $tailDone (i32.ge_u (local.get $t) (local.get $kCb)))
                        (local.set $p (i32.add (local.get $dp) (local.get $t)))
                        (f32.store (local.get $p) (f32.add (f32.load (local.get $p))
                          (f32.mul (local.get $v) (f32.load (i32.add (local.get $wT) (i32.add (local.get $wr) (local.get $t)))))))
                        (local.set $t (i32.add (local.get $t) (i32.const 4)))
                        (br $tail)))))
                (local.set $xp (i32.add (local.get $xp) (local.get $xRowB)))
                (local.set $dp (i32.add (local.get $dp) (local.get $xRowB)))
                (local.set $wr (i32.add (local.get $wr) (local.get $kCpb)))
                (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
                (br_if $filterRows (i32.lt_s (local.get $ky) (local.get $k)))))
            (local.set $yi (i32.add (local.get $yi) (i32.const 4)))
            (local.set $o (i32.add (local.get $o) (i32.const 1)))
            (br_if $channels (i32.lt_s (local.get $o) (local.get $O))))
          (local.set $pj (i32.add (local.get $pj) (i32.const 1)))
          (br_if $pcols (i32.lt_s (local.get $pj) (local.get $pw))))
        (local.set $pi (i32.add (local.get $pi) (i32.const 1)))
        (br_if $prows (i32.lt_s (local.get $pi) (local.get $ph))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $samples (i32.lt_s (local.get $n) (local.get $GB))))
  )

  ;; GroupedConvPoolGrad.ts, the filter gradient alone for 5x5 filters whose rows hold at most 8
  ;; values (k*C <= 8: MNIST's first layer, C = 1): convPoolGrad's sums, with the filter gradient
  ;; of one (group, channel) held in ten registers while its outputs are scanned, so that each
  ;; nonzero costs ten multiply-adds and no memory traffic. Each dwT value gets its products in
  ;; the same order as in convPoolGrad (sample, pooled row, pooled column), so the same bits.
  ;; dwT [G, O, 5, 8] and db [G, O] are written, not accumulated.
  (func (export "convPoolFilterGrad5x8")
    (param $dy i32) (param $y i32) (param $idx i32) (param $x i32) (param $mask i32)
    (param $dwT i32) (param $db i32)
    (param $G i32) (param $B i32) (param $H i32) (param $W i32) (param $C i32) (param $O i32)
    (local $g i32) (local $o i32) (local $n i32) (local $nEnd i32) (local $pi i32) (local $pj i32)
    (local $oh i32) (local $ow i32) (local $ph i32) (local $pw i32) (local $yi i32) (local $yStep i32)
    (local $zO i32) (local $at i32) (local $i i32) (local $j i32)
    (local $xRowB i32) (local $q i32) (local $wr i32)
    (local $v f32) (local $sum f32) (local $vv v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $a4 v128)
    (local $a5 v128) (local $a6 v128) (local $a7 v128) (local $a8 v128) (local $a9 v128)
    (local.set $oh (i32.sub (local.get $H) (i32.const 4)))
    (local.set $ow (i32.sub (local.get $W) (i32.const 4)))
    (local.set $ph (i32.shr_s (local.get $oh) (i32.const 1)))
    (local.set $pw (i32.shr_s (local.get $ow) (i32.const 1)))
    (if (i32.or (i32.or (i32.le_s (local.get $G) (i32.const 0)) (i32.le_s (local.get $B) (i32.const 0)))
                (i32.or (i32.le_s (local.get $ph) (i32.const 0)) (i32.le_s (local.get $pw) (i32.const 0))))
      (then (return)))
    (local.set $zO (i32.shl (local.get $O) (i32.const 2)))
    (local.set $xRowB (i32.shl (i32.mul (local.get $W) (local.get $C)) (i32.const 2)))
    (local.set $g (i32.const 0))
    (loop $groups
      (local.set $o (i32.const 0))
      (loop $channels
          (local.set $a0 (v128.const i32x4 0 0 0 0))
          (local.set $a1 (v128.const i32x4 0 0 0 0))
          (local.set $a2 (v128.const i32x4 0 0 0 0))
          (local.set $a3 (v128.const i32x4 0 0 0 0))
          (local.set $a4 (v128.const i32x4 0 0 0 0))
          (local.set $a5 (v128.const i32x4 0 0 0 0))
          (local.set $a6 (v128.const i32x4 0 0 0 0))
          (local.set $a7 (v128.const i32x4 0 0 0 0))
          (local.set $a8 (v128.const i32x4 0 0 0 0))
          (local.set $a9 (v128.const i32x4 0 0 0 0))
        (local.set $sum (f32.const 0))
        (local.set $n (i32.mul (local.get $g) (local.get $B)))
        (local.set $nEnd (i32.add (local.get $n) (local.get $B)))
        (loop $samples
          (local.set $pi (i32.const 0))
          (loop $prows
            (local.set $pj (i32.const 0))
            ;; byte offset of dy[n, pi, 0, o] (and y's)
            (local.set $yi (i32.shl
              (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $ph)) (local.get $pi)) (i32.mul (local.get $pw) (local.get $O)))
                       (local.get $o))
              (i32.const 2)))
            (loop $pcols
              (block $skip
                (br_if $skip (i32.eqz (f32.gt (f32.load (i32.add (local.get $y) (local.get $yi))) (f32.const 0))))
                (local.set $v (f32.load (i32.add (local.get $dy) (local.get $yi))))
                (if (local.get $mask)
                  (then (local.set $v (f32.mul (local.get $v)
                    (f32.load (i32.add (local.get $mask)
                      (i32.shl (i32.add (i32.mul (local.get $n) (local.get $O)) (local.get $o)) (i32.const 2))))))))
                (br_if $skip (f32.eq (local.get $v) (f32.const 0)))
                (local.set $at (i32.load (i32.add (local.get $idx) (local.get $yi))))
                (local.set $i (i32.add (i32.shl (local.get $pi) (i32.const 1)) (i32.shr_u (local.get $at) (i32.const 1))))
                (local.set $j (i32.add (i32.shl (local.get $pj) (i32.const 1)) (i32.and (local.get $at) (i32.const 1))))
                (local.set $sum (f32.add (local.get $sum) (local.get $v)))
                (local.set $vv (f32x4.splat (local.get $v)))
                (local.set $q (i32.add (local.get $x) (i32.shl
                  (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $H)) (local.get $i)) (local.get $W))
                                    (local.get $j))
                           (local.get $C))
                  (i32.const 2))))
                (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $vv) (v128.load (local.get $q)))))
                (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $vv) (v128.load offset=16 (local.get $q)))))
                (local.set $q (i32.add (local.get $q) (local.get $xRowB)))
                (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $vv) (v128.load (local.get $q)))))
                (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $vv) (v128.load offset=16 (local.get $q)))))
                (local.set $q (i32.add (local.get $q) (local.get $xRowB)))
                (local.set $a4 (f32x4.add (local.get $a4) (f32x4.mul (local.get $vv) (v128.load (local.get $q)))))
                (local.set $a5 (f32x4.add (local.get $a5) (f32x4.mul (local.get $vv) (v128.load offset=16 (local.get $q)))))
                (local.set $q (i32.add (local.get $q) (local.get $xRowB)))
                (local.set $a6 (f32x4.add (local.get $a6) (f32x4.mul (local.get $vv) (v128.load (local.get $q)))))
                (local.set $a7 (f32x4.add (local.get $a7) (f32x4.mul (local.get $vv) (v128.load offset=16 (local.get $q)))))
                (local.set $q (i32.add (local.get $q) (local.get $xRowB)))
                (local.set $a8 (f32x4.add (local.get $a8) (f32x4.mul (local.get $vv) (v128.load (local.get $q)))))
                (local.set $a9 (f32x4.add (local.get $a9) (f32x4.mul (local.get $vv) (v128.load offset=16 (local.get $q)))))
              )
              (local.set $yi (i32.add (local.get $yi) (local.get $zO)))
              (local.set $pj (i32.add (local.get $pj) (i32.const 1)))
              (br_if $pcols (i32.lt_s (local.get $pj) (local.get $pw))))
            (local.set $pi (i32.add (local.get $pi) (i32.const 1)))
            (br_if $prows (i32.lt_s (local.get $pi) (local.get $ph))))
          (local.set $n (i32.add (local.get $n) (i32.const 1)))
          (br_if $samples (i32.lt_s (local.get $n) (local.get $nEnd))))
        (local.set $wr (i32.add (local.get $dwT) (i32.mul (i32.add (i32.mul (local.get $g) (local.get $O)) (local.get $o)) (i32.const 160))))
            (v128.store offset=0 (local.get $wr) (local.get $a0))
            (v128.store offset=16 (local.get $wr) (local.get $a1))
            (v128.store offset=32 (local.get $wr) (local.get $a2))
            (v128.store offset=48 (local.get $wr) (local.get $a3))
            (v128.store offset=64 (local.get $wr) (local.get $a4))
            (v128.store offset=80 (local.get $wr) (local.get $a5))
            (v128.store offset=96 (local.get $wr) (local.get $a6))
            (v128.store offset=112 (local.get $wr) (local.get $a7))
            (v128.store offset=128 (local.get $wr) (local.get $a8))
            (v128.store offset=144 (local.get $wr) (local.get $a9))
        (f32.store (i32.add (local.get $db) (i32.shl (i32.add (i32.mul (local.get $g) (local.get $O)) (local.get $o)) (i32.const 2)))
                   (local.get $sum))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (br_if $channels (i32.lt_s (local.get $o) (local.get $O))))
      (local.set $g (i32.add (local.get $g) (i32.const 1)))
      (br_if $groups (i32.lt_s (local.get $g) (local.get $G))))
  )

  ;; GroupedConvPool.ts: the block's pool after its convolution. z [GB, 2ph, 2pw, O] (the conv's
  ;; output with its bias), mask [GB, O] or 0 (none) -> y [GB, ph, pw, O] = relu(max of the 2x2
  ;; window) * mask and idx [GB, ph, pw, O] (i32): the window's winner, 2 * row + column, the
  ;; first strictly greatest in row-major order (0 where none is: all NaN or -Infinity). A window
  ;; holding a NaN gives y = NaN, so that a diverged model's loss turns NaN and training stops.
  ;; O >= 4; four channels at a time, the last group moved back to O - 4 (writing the same values).
  (func (export "poolReluMask2x2")
    (param $z i32) (param $mask i32) (param $y i32) (param $idx i32)
    (param $GB i32) (param $ph i32) (param $pw i32) (param $O i32)
    (local $n i32) (local $pi i32) (local $pj i32) (local $d i32) (local $last i32)
    (local $zO i32) (local $zRow i32) (local $p0 i32) (local $out i32) (local $mrow i32)
    (local $v v128) (local $best v128) (local $m v128) (local $at v128) (local $scale v128)
    (local $ninf v128) (local $nan v128)
    (if (i32.or (i32.or (i32.lt_s (local.get $O) (i32.const 4)) (i32.le_s (local.get $GB) (i32.const 0)))
                (i32.or (i32.le_s (local.get $ph) (i32.const 0)) (i32.le_s (local.get $pw) (i32.const 0))))
      (then (return)))
    (local.set $ninf (f32x4.splat (f32.const -inf)))
    (local.set $scale (f32x4.splat (f32.const 1)))
    (local.set $zO (i32.shl (local.get $O) (i32.const 2)))
    (local.set $zRow (i32.mul (i32.shl (local.get $pw) (i32.const 1)) (local.get $zO)))
    (local.set $last (i32.shl (i32.sub (local.get $O) (i32.const 4)) (i32.const 2)))
    (local.set $out (i32.const 0))
    (local.set $n (i32.const 0))
    (loop $samples
      (local.set $mrow (i32.add (local.get $mask) (i32.mul (local.get $n) (local.get $zO))))
      (local.set $pi (i32.const 0))
      (loop $prows
        ;; p0: byte offset of z[n, 2pi, 0, 0]
        (local.set $p0 (i32.mul (i32.mul (i32.add (i32.mul (local.get $n) (local.get $ph)) (local.get $pi)) (i32.const 2))
                                (local.get $zRow)))
        (local.set $pj (i32.const 0))
        (loop $pcols
          (local.set $d (i32.const 0))
          (loop $channels
            (if (i32.gt_s (local.get $d) (local.get $last)) (then (local.set $d (local.get $last))))
            (local.set $v (v128.load (i32.add (local.get $z) (i32.add (local.get $p0) (local.get $d)))))
            (local.set $nan (f32x4.ne (local.get $v) (local.get $v)))
            (local.set $m (f32x4.gt (local.get $v) (local.get $ninf)))
            (local.set $best (v128.bitselect (local.get $v) (local.get $ninf) (local.get $m)))
            (local.set $at (v128.const i32x4 0 0 0 0))
            (local.set $v (v128.load (i32.add (local.get $z) (i32.add (i32.add (local.get $p0) (local.get $zO)) (local.get $d)))))
            (local.set $nan (v128.or (local.get $nan) (f32x4.ne (local.get $v) (local.get $v))))
            (local.set $m (f32x4.gt (local.get $v) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $m)))
            (local.set $at (v128.bitselect (v128.const i32x4 1 1 1 1) (local.get $at) (local.get $m)))
            (local.set $v (v128.load (i32.add (local.get $z) (i32.add (i32.add (local.get $p0) (local.get $zRow)) (local.get $d)))))
            (local.set $nan (v128.or (local.get $nan) (f32x4.ne (local.get $v) (local.get $v))))
            (local.set $m (f32x4.gt (local.get $v) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $m)))
            (local.set $at (v128.bitselect (v128.const i32x4 2 2 2 2) (local.get $at) (local.get $m)))
            (local.set $v (v128.load (i32.add (local.get $z)
              (i32.add (i32.add (i32.add (local.get $p0) (local.get $zRow)) (local.get $zO)) (local.get $d)))))
            (local.set $nan (v128.or (local.get $nan) (f32x4.ne (local.get $v) (local.get $v))))
            (local.set $m (f32x4.gt (local.get $v) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $m)))
            (local.set $at (v128.bitselect (v128.const i32x4 3 3 3 3) (local.get $at) (local.get $m)))
            (if (local.get $mask)
              (then (local.set $scale (v128.load (i32.add (local.get $mrow) (local.get $d))))))
            ;; a window with a NaN: best becomes that NaN (canonical), and relu and mask keep it NaN
            (local.set $best (v128.bitselect (f32x4.splat (f32.const nan)) (local.get $best) (local.get $nan)))
            (v128.store (i32.add (local.get $y) (i32.add (local.get $out) (local.get $d)))
              (f32x4.mul (f32x4.max (local.get $best) (v128.const i32x4 0 0 0 0)) (local.get $scale)))
            (v128.store (i32.add (local.get $idx) (i32.add (local.get $out) (local.get $d))) (local.get $at))
            (local.set $d (i32.add (local.get $d) (i32.const 16)))
            (br_if $channels (i32.lt_s (local.get $d) (local.get $zO))))
          (local.set $out (i32.add (local.get $out) (local.get $zO)))
          (local.set $p0 (i32.add (local.get $p0) (i32.shl (local.get $zO) (i32.const 1))))
          (local.set $pj (i32.add (local.get $pj) (i32.const 1)))
          (br_if $pcols (i32.lt_s (local.get $pj) (local.get $pw))))
        (local.set $pi (i32.add (local.get $pi) (i32.const 1)))
        (br_if $prows (i32.lt_s (local.get $pi) (local.get $ph))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $samples (i32.lt_s (local.get $n) (local.get $GB))))
  )
  ;; SharedConvPool.ts and GroupedConvPoolInference.ts: the probes' pool after a convolution, without
  ;; winners. z [B, 2ph, 2pw, M*C] (M models' outputs side by side in the channel axis) -> model m's
  ;; y[m] [B, ph, pw, C] at byte y + m * yStride: relu of the window's max, as maxPool then relu give
  ;; it: relu(v) = 0 < v ? v : +0 (f32x4.pmax, one instruction; f32x4.max's NaN and zero rules
  ;; cost several), and a window holding a NaN gives NaN (its lanes ORed with the NaN mask: all
  ;; bits set). C >= 4. Each window row of M*C values is pooled four lanes at a time (the last four
  ;; moved back to fit: the same values again) straight into y when M = 1, else into tmp (M*C
  ;; floats), then copied to the models' outputs, C values each the same way.
  (func (export "poolReluRegroup2x2")
    (param $z i32) (param $y i32) (param $tmp i32) (param $B i32) (param $ph i32) (param $pw i32)
    (param $M i32) (param $C i32) (param $yStride i32)
    (local $n i32) (local $pi i32) (local $pj i32) (local $m i32) (local $d i32)
    (local $cB i32) (local $zO i32) (local $zRow i32) (local $lastRow i32) (local $lastC i32)
    (local $p0 i32) (local $dst i32) (local $src i32) (local $out i32) (local $om i32)
    (local $a v128) (local $b v128) (local $c v128) (local $e v128)
    (if (i32.or (i32.or (i32.lt_s (local.get $C) (i32.const 4)) (i32.le_s (local.get $B) (i32.const 0)))
                (i32.or (i32.or (i32.le_s (local.get $ph) (i32.const 0)) (i32.le_s (local.get $pw) (i32.const 0)))
                        (i32.le_s (local.get $M) (i32.const 0))))
      (then (return)))
    (local.set $cB (i32.shl (local.get $C) (i32.const 2)))
    (local.set $zO (i32.mul (local.get $M) (local.get $cB)))
    (local.set $zRow (i32.mul (i32.shl (local.get $pw) (i32.const 1)) (local.get $zO)))
    (local.set $lastRow (i32.sub (local.get $zO) (i32.const 16)))
    (local.set $lastC (i32.sub (local.get $cB) (i32.const 16)))
    (local.set $out (local.get $y))
    (local.set $n (i32.const 0))
    (loop $samples
      (local.set $pi (i32.const 0))
      (loop $prows
        ;; p0: byte address of z[n, 2pi, 0, 0]
        (local.set $p0 (i32.add (local.get $z)
          (i32.mul (i32.mul (i32.add (i32.mul (local.get $n) (local.get $ph)) (local.get $pi)) (i32.const 2))
                   (local.get $zRow))))
        (local.set $pj (i32.const 0))
        (loop $pcols
          (local.set $dst (select (local.get $out) (local.get $tmp) (i32.eq (local.get $M) (i32.const 1))))
          (local.set $d (i32.const 0))
          (loop $row
            (if (i32.gt_s (local.get $d) (local.get $lastRow)) (then (local.set $d (local.get $lastRow))))
            (local.set $a (v128.load (i32.add (local.get $p0) (local.get $d))))
            (local.set $b (v128.load (i32.add (i32.add (local.get $p0) (local.get $zO)) (local.get $d))))
            (local.set $c (v128.load (i32.add (i32.add (local.get $p0) (local.get $zRow)) (local.get $d))))
            (local.set $e (v128.load (i32.add (i32.add (i32.add (local.get $p0) (local.get $zRow)) (local.get $zO))
                                              (local.get $d))))
            (v128.store (i32.add (local.get $dst) (local.get $d))
              (v128.or
                (f32x4.pmax (v128.const i32x4 0 0 0 0)
                  (f32x4.pmax (f32x4.pmax (local.get $a) (local.get $b)) (f32x4.pmax (local.get $c) (local.get $e))))
                (v128.or (v128.or (f32x4.ne (local.get $a) (local.get $a)) (f32x4.ne (local.get $b) (local.get $b)))
                         (v128.or (f32x4.ne (local.get $c) (local.get $c)) (f32x4.ne (local.get $e) (local.get $e))))))
            (local.set $d (i32.add (local.get $d) (i32.const 16)))
            (br_if $row (i32.lt_s (local.get $d) (local.get $zO))))
          (if (i32.gt_s (local.get $M) (i32.const 1))
            (then
              (local.set $src (local.get $tmp))
              (local.set $om (local.get $out))
              (local.set $m (i32.const 0))
              (loop $models
                (local.set $d (i32.const 0))
                (loop $channels
                  (if (i32.gt_s (local.get $d) (local.get $lastC)) (then (local.set $d (local.get $lastC))))
                  (v128.store (i32.add (local.get $om) (local.get $d)) (v128.load (i32.add (local.get $src) (local.get $d))))
                  (local.set $d (i32.add (local.get $d) (i32.const 16)))
                  (br_if $channels (i32.lt_s (local.get $d) (local.get $cB))))
                (local.set $src (i32.add (local.get $src) (local.get $cB)))
                (local.set $om (i32.add (local.get $om) (local.get $yStride)))
                (local.set $m (i32.add (local.get $m) (i32.const 1)))
                (br_if $models (i32.lt_s (local.get $m) (local.get $M))))))
          (local.set $out (i32.add (local.get $out) (local.get $cB)))
          (local.set $p0 (i32.add (local.get $p0) (i32.shl (local.get $zO) (i32.const 1))))
          (local.set $pj (i32.add (local.get $pj) (i32.const 1)))
          (br_if $pcols (i32.lt_s (local.get $pj) (local.get $pw))))
        (local.set $pi (i32.add (local.get $pi) (i32.const 1)))
        (br_if $prows (i32.lt_s (local.get $pi) (local.get $ph))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $samples (i32.lt_s (local.get $n) (local.get $B))))
  )
)
