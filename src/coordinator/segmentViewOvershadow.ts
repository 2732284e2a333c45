/**
 * Overshadowing of one data source's segments in the columnar view, with the semantics of
 * src/segments/timeline.ts (Druid's VersionedIntervalTimeline):
 * - segments with the same interval and version form a chunk; it is complete when its core
 *   partitions 0..n-1 are all present (n = the largest core-partition count in the chunk; n = 0,
 *   as for `none`/`linear`, makes any non-empty chunk complete);
 * - a chunk (complete or not) is overshadowed when complete chunks of strictly higher versions
 *   together cover its whole interval.
 *
 * Instead of timeline.ts's walk from the highest version down (which merges a covered set per
 * version and is O(versions × chunks) when versions are many), this computes the step function
 * f(t) = highest version rank of a complete chunk containing t (a sweep with a max-heap), then
 * a chunk of rank r over [s, e) is overshadowed iff min f over [s, e) > r.
 * The two are equal: "the union of higher complete chunks covers [s, e)" is "every instant of
 * [s, e) lies in a higher complete chunk". O(n log n) per data source.
 */

/** The columns the computation reads (owned by SegmentView). */
export interface OvershadowColumns {
  interval: Int32Array;
  version: Int32Array;
  partition: Int32Array;
  core: Int32Array;
  flags: Uint8Array;
  intervalStart: Float64Array;
  intervalEnd: Float64Array;
  /** Rank of each interval in (start, index) order over the whole interval table. */
  intervalRank: Int32Array;
  intervalCount: number;
  /** Each version's rank in string order (Druid compares versions as strings), over the whole version table. */
  versionRank: Int32Array;
  versionCount: number;
}

export const FLAG_USED = 1;
export const FLAG_OVERSHADOWED = 2;

/** Recomputes FLAG_OVERSHADOWED of `members[0..n)`; returns how many are overshadowed. */
export function computeOvershadowed(c: OvershadowColumns, members: Int32Array, n: number): number {
  if (n === 0) return 0;
  const { interval, version, partition, core, flags, intervalStart, intervalEnd, intervalRank: ivRank, versionRank: rankOf } = c;

  // members by (interval rank, version): chunks become runs, in interval start order. The key
  // (interval rank × versions + version rank) × n + position sorts natively when it fits 2^53.
  const order = members.slice(0, n);
  const startOf = new Float64Array(n);
  const nv = c.versionCount;
  if (c.intervalCount <= 4 * n) {
    // counting sort by interval rank, then insertion sort of each interval's run by version rank
    const counts = new Int32Array(c.intervalCount + 1);
    for (let i = 0; i < n; i++) counts[ivRank[interval[members[i]]] + 1]++;
    for (let r = 0; r < c.intervalCount; r++) counts[r + 1] += counts[r];
    for (let i = 0; i < n; i++) order[counts[ivRank[interval[members[i]]]]++] = members[i];
    for (let i = 1; i < n; i++) {
      const m = order[i], iv = interval[m], r = rankOf[version[m]];
      let j = i - 1;
      while (j >= 0 && interval[order[j]] === iv && rankOf[version[order[j]]] > r) { order[j + 1] = order[j]; j--; }
      order[j + 1] = m;
    }
  } else if (c.intervalCount * nv * n < 2 ** 53) {
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = (ivRank[interval[members[i]]] * nv + rankOf[version[members[i]]]) * n + i;
    keys.sort();
    for (let i = 0; i < n; i++) order[i] = members[keys[i] % n];
  } else {
    order.sort((a, b) => ivRank[interval[a]] - ivRank[interval[b]] || version[a] - version[b]);
  }

  // chunks
  const chFirst = new Int32Array(n + 1);
  const chRank = new Int32Array(n);
  const chStart = startOf; // reused: chunk starts
  const chEnd = new Float64Array(n);
  const chComplete = new Uint8Array(n);
  let chunks = 0;
  for (let i = 0; i < n; ) {
    const s = order[i], iv = interval[s], ver = version[s];
    let j = i, maxCore = 0;
    while (j < n && interval[order[j]] === iv && version[order[j]] === ver) {
      if (core[order[j]] > maxCore) maxCore = core[order[j]];
      j++;
    }
    let present = 0;
    if (maxCore > 0) for (let k = i; k < j; k++) if (partition[order[k]] < maxCore) present++;
    chFirst[chunks] = i;
    chRank[chunks] = rankOf[ver];
    chStart[chunks] = intervalStart[iv];
    chEnd[chunks] = intervalEnd[iv];
    chComplete[chunks] = maxCore === 0 || present === maxCore ? 1 : 0;
    chunks++;
    i = j;
  }
  chFirst[chunks] = n;

  // step function of the highest complete version: bp[k] starts a step of value fv[k]
  const bp = new Float64Array(2 * chunks + 1);
  const fv = new Int32Array(2 * chunks + 1);
  let steps = 0, cur = -1;
  const setVal = (t: number, v: number) => {
    if (v === cur) return;
    if (steps > 0 && bp[steps - 1] === t) fv[steps - 1] = v;
    else { bp[steps] = t; fv[steps] = v; steps++; }
    cur = v;
  };
  const heap = new Int32Array(chunks); // chunk ids, max-heap by rank
  let hn = 0;
  const above = (a: number, b: number) => chRank[heap[a]] > chRank[heap[b]];
  const push = (ch: number) => {
    let i = hn++;
    heap[i] = ch;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!above(i, p)) break;
      const t = heap[i]; heap[i] = heap[p]; heap[p] = t; i = p;
    }
  };
  const pop = () => {
    heap[0] = heap[--hn];
    for (let i = 0; ; ) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < hn && above(l, m)) m = l;
      if (r < hn && above(r, m)) m = r;
      if (m === i) break;
      const t = heap[i]; heap[i] = heap[m]; heap[m] = t; i = m;
    }
  };
  let now = -Infinity;
  const advanceTo = (T: number) => {
    while (hn > 0) {
      const e = chEnd[heap[0]];
      if (e <= now) { pop(); continue; } // expired earlier (lazy deletion)
      if (e > T) break;
      pop();
      now = e;
      while (hn > 0 && chEnd[heap[0]] <= now) pop();
      setVal(now, hn > 0 ? chRank[heap[0]] : -1);
    }
    now = T;
  };
  for (let ch = 0; ch < chunks; ch++) {
    if (!chComplete[ch] || chEnd[ch] <= chStart[ch]) continue;
    advanceTo(chStart[ch]);
    push(ch);
    while (chEnd[heap[0]] <= now) pop();
    setVal(now, chRank[heap[0]]);
  }
  advanceTo(Infinity);

  // min of fv over [s, e) per chunk. Chunks come in start order, so the step holding s moves
  // forward only; the step holding e is found by a short walk, then by bisection. Short ranges
  // are scanned (stopping at the first step not above the chunk's rank); long ones use a
  // range-min tree, built on first need.
  let tree: Int32Array | null = null, size = 1;
  const rangeMin = (lo: number, hi: number) => { // inclusive
    if (!tree) {
      while (size < steps) size <<= 1;
      tree = new Int32Array(2 * size).fill(-1);
      for (let k = 0; k < steps; k++) tree[size + k] = fv[k];
      for (let k = size - 1; k > 0; k--) tree[k] = Math.min(tree[2 * k], tree[2 * k + 1]);
    }
    let m = 2147483647;
    for (lo += size, hi += size + 1; lo < hi; lo >>= 1, hi >>= 1) {
      if (lo & 1) m = Math.min(m, tree[lo++]);
      if (hi & 1) m = Math.min(m, tree[--hi]);
    }
    return m;
  };
  let overshadowed = 0;
  let i0 = -1; // last step starting at or before the chunk's start
  for (let ch = 0; ch < chunks; ch++) {
    const s = chStart[ch], e = chEnd[ch], rank = chRank[ch];
    while (i0 + 1 < steps && bp[i0 + 1] <= s) i0++;
    let over = false;
    if (i0 >= 0 && fv[i0] > rank) {
      over = true;
      // the last step starting before e
      let i1 = i0, k = 0;
      while (k < 8 && i1 + 1 < steps && bp[i1 + 1] < e) { i1++; k++; if (fv[i1] <= rank) { over = false; break; } }
      if (over && k === 8 && i1 + 1 < steps && bp[i1 + 1] < e) {
        let lo = i1 + 1, hi = steps;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (bp[mid] < e) lo = mid + 1;
          else hi = mid;
        }
        over = rangeMin(i1, lo - 1) > rank;
      }
    }
    for (let k = chFirst[ch]; k < chFirst[ch + 1]; k++) {
      const slot = order[k];
      if (over) { flags[slot] |= FLAG_OVERSHADOWED; overshadowed++; }
      else flags[slot] &= ~FLAG_OVERSHADOWED;
    }
  }
  return overshadowed;
}
