"""numba kernels of :mod:`mdp.abstraction.partition`: splitter-based partition refinement.

Arrays in, arrays out. The model enters as the *predecessor* lists of the ``(S * A, S)``
state-action-pair CSR form (``transpose_csr``): for a target state ``t``, the entries
``pred_ptr[t]:pred_ptr[t + 1]`` of ``pred_pair`` / ``pred_val`` hold every pair ``s * A + a``
with ``P[s, a, t] > 0`` and that probability.

Algorithm (:func:`refine`): a refinable partition (Valmari & Lehtinen 2008; the data structure of
Valmari & Franceschinis 2010, "Simple O(m log n) time Markov chain lumping", TACAS) stores the
states of each block contiguously in ``elems`` (``loc`` is the inverse permutation, ``blk`` the
block of a state, ``first``/``end`` the segment of a block). A queue of *splitters* is processed
as in Derisavi, Hermanns & Sanders (2003), "Optimal state-space lumping in Markov chains", IPL 87:

* pop a splitter ``C`` and snapshot its states; for every predecessor pair ``(s, a)`` accumulate
  ``w[s, a] = P(s, a, C) = sum_{t in C} P[s, a, t]`` (only the pairs with an edge into ``C`` are
  touched: cost ``O(in-degree of C)``);
* for each action ``a`` separately, group the touched states by their current block ``B``; sort
  them by key ``w[s, a]`` (untouched states of ``B`` have key 0) and cut the sorted sequence into
  groups: a new group starts at the first key exceeding the current group's *first* key by more
  than ``tol``, so every group's keys span at most ``tol`` (cutting only where *consecutive* keys
  differ by more than ``tol`` would let a chain of small gaps merge keys arbitrarily far apart).
  Only touched states move: they are swapped to the end of ``B``'s
  segment, the group that contains the untouched states keeps the id ``B``, every other group
  becomes a new block;
* queue rule ("process all but the largest"): if ``B`` was waiting in the queue its new pieces are
  all queued; otherwise all pieces but the largest are queued. For a state ``s`` stable with
  respect to ``B``, ``P(s, a, largest) = P(s, a, B) - sum_{other pieces} P(s, a, piece)``, so
  stability with respect to the largest piece follows from that of the others.

Every state then lies in a processed splitter ``O(log n)`` times (each new splitter containing it is
at most half of the one before), so the splitter scans cost ``O(m log n)`` with ``m`` the number of
stored transitions; the sorts of touched keys add at most a ``log`` factor (``O(m log^2 n)`` worst
case; Valmari & Franceschinis remove it with a majority-candidate trick that this kernel does not
implement). The initial partition (equal reward vectors) is built by the same cutting rule on
``R[:, a]`` for each ``a`` (``O(S A log S)``) and every initial block is queued (the whole state
space is *not* used as an implied splitter, because accepted rows sum to 1 only up to ``atol``).

Both modes cut keys the same way (groups spanning at most ``tol``; in the exact mode ``tol`` is the
round-off allowance ``EXACT_EPS``), so the initial blocks' rewards span at most ``tol_r`` for every
action. ``approx`` (the epsilon-approximate mode) also queues *all* pieces of a split block: the
subtraction argument above needs transitivity, which a tolerance of more than round-off size
breaks. Either way the partition found is certified a posteriori by the wrapper (``eps_R``,
``eps_P``), not by this kernel.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["transpose_csr", "refine", "aggregation_errors"]


@njit(cache=True)
def transpose_csr(indptr, indices, data, n_cols):
    """Column lists of a CSR matrix: ``(ptr (n_cols + 1,), rows, vals)`` (counting sort, ``O(nnz)``)."""
    n_rows = indptr.shape[0] - 1
    nnz = indptr[n_rows]
    ptr = np.zeros(n_cols + 1, dtype=np.int64)
    for k in range(nnz):
        ptr[indices[k] + 1] += 1
    for j in range(n_cols):
        ptr[j + 1] += ptr[j]
    fill = ptr[:-1].copy()
    rows = np.empty(nnz, dtype=np.int64)
    vals = np.empty(nnz, dtype=np.float64)
    for i in range(n_rows):
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            rows[fill[j]] = i
            vals[fill[j]] = data[k]
            fill[j] += 1
    return ptr, rows, vals


@njit(cache=True)
def _sort_pairs(keys, states, lo, hi):
    """Sort ``keys[lo:hi]`` ascending, permuting ``states[lo:hi]`` alongside (ties by state id)."""
    n = hi - lo
    if n <= 24:
        for i in range(lo + 1, hi):
            k = keys[i]
            s = states[i]
            j = i - 1
            while j >= lo and (keys[j] > k or (keys[j] == k and states[j] > s)):
                keys[j + 1] = keys[j]
                states[j + 1] = states[j]
                j -= 1
            keys[j + 1] = k
            states[j + 1] = s
        return
    order = np.argsort(keys[lo:hi], kind="mergesort")  # stable: ties keep state order (states sorted below)
    ks = keys[lo:hi][order]
    ss = states[lo:hi][order]
    for i in range(n):
        keys[lo + i] = ks[i]
        states[lo + i] = ss[i]


@njit(cache=True)
def _split_block(
    b, gstates, gkeys, lo, hi, untouched, tol, approx, elems, loc, blk, first, end, nb, inq, queue, qlen, sizes_buf
):
    """Split block ``b`` by the keys of its touched states ``gstates[lo:hi]`` (the ``untouched``
    other states of ``b`` have key 0). Returns ``(nb, qlen)`` after queueing the new pieces."""
    _sort_pairs(gkeys, gstates, lo, hi)
    k = hi - lo
    # cut into groups; g0 = how many touched states (a prefix) stay with block b
    # the first group starts at key 0 (the untouched states) or at the smallest touched key
    ref = 0.0 if untouched > 0 else gkeys[lo]
    g0 = 0
    in_first = True
    # group boundaries recorded in sizes_buf as start offsets (relative to lo) of groups after the first
    n_cuts = 0
    for i in range(lo, hi):
        x = gkeys[i]
        if x - ref > tol:  # measured from the group's first (smallest) key: a group spans <= tol
            if in_first:
                in_first = False
            sizes_buf[n_cuts] = i - lo
            n_cuts += 1
            ref = x
        if in_first:
            g0 += 1
    if n_cuts == 0:
        return nb, qlen
    # move the touched states, in sorted order, to the end of b's segment
    e = end[b]
    base = e - k
    for i in range(k):
        s = gstates[lo + i]
        p = loc[s]
        q = base + i
        if p != q:
            o = elems[q]
            elems[q] = s
            loc[s] = q
            elems[p] = o
            loc[o] = p
    # block b keeps [first[b], base + g0); the cut groups become new blocks
    was_queued = inq[b]
    end[b] = base + g0
    largest = b
    largest_size = end[b] - first[b]
    new_lo = nb
    for c in range(n_cuts):
        start = base + sizes_buf[c]
        stop = base + sizes_buf[c + 1] if c + 1 < n_cuts else e
        first[nb] = start
        end[nb] = stop
        inq[nb] = False
        for p in range(start, stop):
            blk[elems[p]] = nb
        if stop - start > largest_size:
            largest = nb
            largest_size = stop - start
        nb += 1
    # queue rule
    if was_queued or approx:
        if approx and not was_queued:
            queue[qlen] = b
            qlen += 1
            inq[b] = True
        for c in range(new_lo, nb):
            queue[qlen] = c
            qlen += 1
            inq[c] = True
    else:
        if largest != b:
            queue[qlen] = b
            qlen += 1
            inq[b] = True
        for c in range(new_lo, nb):
            if c != largest:
                queue[qlen] = c
                qlen += 1
                inq[c] = True
    return nb, qlen


@njit(cache=True)
def refine(S, A, pred_ptr, pred_pair, pred_val, R, tol_r, tol_p, approx):
    """Coarsest partition of ``range(S)`` stable for rewards ``R`` (S, A) and the transitions given
    by predecessor lists (see the module docstring).

    Returns ``(blk (S,) int64, n_blocks, n_splitters, n_scanned)``: block ids (not canonical), the
    number of splitters processed and of predecessor entries scanned (the ``O(m log n)`` work).
    """
    elems = np.arange(S).astype(np.int64)
    loc = np.arange(S).astype(np.int64)
    blk = np.zeros(S, dtype=np.int64)
    first = np.zeros(S + 1, dtype=np.int64)
    end = np.zeros(S + 1, dtype=np.int64)
    inq = np.zeros(S + 1, dtype=np.bool_)
    queue = np.empty(S + 1, dtype=np.int64)
    sizes_buf = np.empty(S + 1, dtype=np.int64)
    end[0] = S
    nb = 1
    qlen = 0
    gstates = np.empty(S, dtype=np.int64)
    gkeys = np.empty(S, dtype=np.float64)
    bcnt = np.zeros(S + 1, dtype=np.int64)
    bofs = np.zeros(S + 1, dtype=np.int64)
    tblocks = np.empty(S + 1, dtype=np.int64)

    # ---- initial partition: equal reward vectors (tolerance tol_r), action by action
    for a in range(A):
        nb_now = nb
        for b in range(nb_now):
            lo = first[b]
            hi = end[b]
            for i in range(lo, hi):
                gstates[i] = elems[i]
                gkeys[i] = R[elems[i], a]
            nb, qlen = _split_block(
                b,
                gstates,
                gkeys,
                lo,
                hi,
                0,
                tol_r,
                approx,
                elems,
                loc,
                blk,
                first,
                end,
                nb,
                inq,
                queue,
                qlen,
                sizes_buf,
            )
    qlen = 0
    for b in range(nb):
        queue[qlen] = b
        qlen += 1
        inq[b] = True

    # ---- splitter loop
    w = np.zeros(S * A, dtype=np.float64)
    wmark = np.zeros(S * A, dtype=np.bool_)
    tp = np.empty(S * A, dtype=np.int64)
    tp_by_a = np.empty(S * A, dtype=np.int64)
    acnt = np.zeros(A + 1, dtype=np.int64)
    snap = np.empty(S, dtype=np.int64)
    n_split = 0
    n_scanned = 0
    while qlen > 0:
        qlen -= 1
        C = queue[qlen]
        inq[C] = False
        n_split += 1
        ns = end[C] - first[C]
        for i in range(ns):
            snap[i] = elems[first[C] + i]
        ntp = 0
        for i in range(ns):
            t = snap[i]
            for k in range(pred_ptr[t], pred_ptr[t + 1]):
                pr = pred_pair[k]
                if not wmark[pr]:
                    wmark[pr] = True
                    tp[ntp] = pr
                    ntp += 1
                w[pr] += pred_val[k]
            n_scanned += pred_ptr[t + 1] - pred_ptr[t]
        # bucket the touched pairs by action
        for a in range(A + 1):
            acnt[a] = 0
        for i in range(ntp):
            acnt[tp[i] % A + 1] += 1
        for a in range(A):
            acnt[a + 1] += acnt[a]
        for i in range(ntp):
            a = tp[i] % A
            tp_by_a[acnt[a]] = tp[i]
            acnt[a] += 1
        # acnt[a] is now the end of action a's bucket
        start_a = 0
        for a in range(A):
            stop_a = acnt[a]
            # group this action's touched states by block
            ntb = 0
            for i in range(start_a, stop_a):
                b = blk[tp_by_a[i] // A]
                if bcnt[b] == 0:
                    tblocks[ntb] = b
                    ntb += 1
                bcnt[b] += 1
            o = 0
            for j in range(ntb):
                b = tblocks[j]
                bofs[b] = o
                o += bcnt[b]
            for i in range(start_a, stop_a):
                pr = tp_by_a[i]
                s = pr // A
                b = blk[s]
                gstates[bofs[b]] = s
                gkeys[bofs[b]] = w[pr]
                bofs[b] += 1
            o = 0
            for j in range(ntb):
                b = tblocks[j]
                kb = bcnt[b]
                bcnt[b] = 0
                size = end[b] - first[b]
                if size > 1:
                    nb, qlen = _split_block(
                        b,
                        gstates,
                        gkeys,
                        o,
                        o + kb,
                        size - kb,
                        tol_p,
                        approx,
                        elems,
                        loc,
                        blk,
                        first,
                        end,
                        nb,
                        inq,
                        queue,
                        qlen,
                        sizes_buf,
                    )
                o += kb
            start_a = stop_a
        for i in range(ntp):
            w[tp[i]] = 0.0
            wmark[tp[i]] = False
    return blk, nb, n_split, n_scanned


@njit(cache=True)
def aggregation_errors(indptr, indices, data, labels, A, q_indptr, q_indices, q_data, n_blocks):
    """``out[s * A + a] = sum_C |P(s, a, C) - P_Q(labels[s], a, C)|`` (L1 over blocks) and
    ``sums[s * A + a] = |sum_t P[s, a, t] - sum_C P_Q(labels[s], a, C)|``; ``O(nnz + nnz(P_Q) S / Q)``."""
    n_pairs = indptr.shape[0] - 1
    out = np.zeros(n_pairs, dtype=np.float64)
    sums = np.zeros(n_pairs, dtype=np.float64)
    work = np.zeros(n_blocks, dtype=np.float64)
    mark = np.zeros(n_blocks, dtype=np.bool_)
    touched = np.empty(n_blocks, dtype=np.int64)
    for i in range(n_pairs):
        s = i // A
        a = i - s * A
        qi = labels[s] * A + a
        nt = 0
        tot = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            c = labels[indices[k]]
            if not mark[c]:
                mark[c] = True
                touched[nt] = c
                nt += 1
            work[c] += data[k]
            tot += data[k]
        for k in range(q_indptr[qi], q_indptr[qi + 1]):
            c = q_indices[k]
            if not mark[c]:
                mark[c] = True
                touched[nt] = c
                nt += 1
            work[c] -= q_data[k]
            tot -= q_data[k]
        acc = 0.0
        for j in range(nt):
            c = touched[j]
            acc += abs(work[c])
            work[c] = 0.0
            mark[c] = False
        out[i] = acc
        sums[i] = abs(tot)
    return out, sums
