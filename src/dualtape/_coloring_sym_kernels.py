"""The compiled kernels of :mod:`dualtape.coloring_sym`: plain Python functions over
CSR arrays that numba compiles on first use (and that run as they are when the
vectorised stand-ins of :mod:`dualtape._coloring_vec` do not cover them).

Notation: ``ptr``/``idx`` is the adjacency of the graph in CSR without the diagonal,
rows sorted; ``rev[p]`` is the position of the mirror ``(j, i)`` of entry ``p = (i, j)``;
``order`` is the vertex order of a greedy colouring.
"""

import numpy as np


def _star_kernel(order, ptr, idx, rev):  # pragma: no cover - jitted
    # Every vertex keeps a list of the two-coloured stars it is in, one per colour of
    # its partners (a vertex meets each other colour in one star at most), so looking
    # around a neighbour costs its number of colours, not its degree.
    n = ptr.shape[0] - 1
    nnz = idx.shape[0]
    # A vertex is kept off the colours of its neighbours and of their star partners
    # (neighbours of neighbours): at most D + D^2 of them, D the largest degree, so
    # the per-colour arrays need no more than that plus one (and never more than n).
    deg = 0
    for v in range(n):
        deg = max(deg, ptr[v + 1] - ptr[v])
    k = min(n, deg * deg + deg + 1) + 1
    color = np.full(n, -1, dtype=np.int64)
    forbidden = np.full(k, -1, dtype=np.int64)
    cnt = np.zeros(k, dtype=np.int64)            # coloured neighbours of v per colour
    cnt_at = np.full(k, -1, dtype=np.int64)
    new_at = np.full(k, -1, dtype=np.int64)       # the star v hubs, per colour
    new_star = np.zeros(k, dtype=np.int64)
    hub = np.full(nnz + 1, -1, dtype=np.int64)    # -1: a single edge, either end
    head = np.full(n, -1, dtype=np.int64)         # per vertex: its stars, linked
    nxt = np.full(nnz + 1, -1, dtype=np.int64)
    ent_color = np.zeros(nnz + 1, dtype=np.int64)  # the partners' colour in that star
    ent_star = np.zeros(nnz + 1, dtype=np.int64)
    nent = 0
    nstars = 0
    ncolors = 0
    for t in range(n):
        v = order[t]
        for p in range(ptr[v], ptr[v + 1]):
            d = color[idx[p]]
            if d >= 0:
                if cnt_at[d] != v:
                    cnt_at[d] = v
                    cnt[d] = 0
                cnt[d] += 1
                forbidden[d] = v
        for p in range(ptr[v], ptr[v + 1]):
            w = idx[p]
            d = color[w]
            if d < 0:
                continue
            multi = cnt[d] >= 2
            e = head[w]
            while e >= 0:
                c = ent_color[e]
                h = hub[ent_star[e]]
                # v would close a two-coloured path on four vertices: as the hub of
                # two neighbours of one colour, or as a leaf hung on a leaf w
                if forbidden[c] != v and (multi or (h >= 0 and h != w)):
                    forbidden[c] = v
                e = nxt[e]
        c = 0
        while forbidden[c] == v:
            c += 1
        color[v] = c
        if c >= ncolors:
            ncolors = c + 1
        for p in range(ptr[v], ptr[v + 1]):
            w = idx[p]
            d = color[w]
            if d < 0:
                continue
            add_w = True
            if cnt[d] >= 2:
                if new_at[d] != v:
                    new_at[d] = v
                    new_star[d] = nstars
                    hub[nstars] = v
                    ent_color[nent] = d         # v joins its new star once
                    ent_star[nent] = nstars
                    nxt[nent] = head[v]
                    head[v] = nent
                    nent += 1
                    nstars += 1
                s = new_star[d]
            else:
                s = -1
                e = head[w]
                while e >= 0:
                    if ent_color[e] == c:
                        s = ent_star[e]
                        break
                    e = nxt[e]
                if s >= 0:
                    hub[s] = w                  # w now has two partners of colour c
                    add_w = False               # and lists that star already
                else:
                    s = nstars
                    nstars += 1
                ent_color[nent] = d
                ent_star[nent] = s
                nxt[nent] = head[v]
                head[v] = nent
                nent += 1
            if add_w:
                ent_color[nent] = c
                ent_star[nent] = s
                nxt[nent] = head[w]
                head[w] = nent
                nent += 1
    return color, ncolors


#: Above this degree a vertex lists its two-coloured trees (see _acyclic_kernel).
_LIST_DEGREE = 32


def _acyclic_kernel(order, ptr, idx, rev):  # pragma: no cover - jitted
    # The two-coloured trees are disjoint sets over the edges.  Colouring v looks at
    # the trees around each coloured neighbour w.  All of w's edges to one colour lie
    # in one tree, so a vertex of high degree keeps a list of its trees, one per colour
    # of its neighbours, each named by one of its edges: looking around it costs its
    # number of colours, not its degree, and a dense row is not quadratic.  Around a
    # vertex of low degree its adjacency row is scanned directly, which is faster.
    n = ptr.shape[0] - 1
    nnz = idx.shape[0]
    deg = 0                  # per-colour arrays: at most D + D (D - 1) colours forbidden
    for v in range(n):
        deg = max(deg, ptr[v + 1] - ptr[v])
    k = min(n, deg * deg + 1) + 1
    color = np.full(n, -1, dtype=np.int64)
    forbidden = np.full(k, -1, dtype=np.int64)
    parent = np.arange(nnz, dtype=np.int64)
    size = np.ones(nnz, dtype=np.int64)
    seen_v = np.full(nnz, -1, dtype=np.int64)     # per tree root: reached from v via w
    seen_w = np.full(nnz, -1, dtype=np.int64)
    first_at = np.full(k, -1, dtype=np.int64)     # v's tree towards each colour
    first_edge = np.zeros(k, dtype=np.int64)
    head = np.full(n, -1, dtype=np.int64)         # per listing vertex: its trees, linked
    nxt = np.empty(nnz + 1, dtype=np.int64)       # (each entry written before it is read)
    ent_color = np.empty(nnz + 1, dtype=np.int64)  # the other colour of that tree
    ent_edge = np.empty(nnz + 1, dtype=np.int64)   # one of the vertex's edges in it
    nent = 0
    ncolors = 0
    for t in range(n):
        v = order[t]
        for p in range(ptr[v], ptr[v + 1]):
            d = color[idx[p]]
            if d >= 0:
                forbidden[d] = v
        for p in range(ptr[v], ptr[v + 1]):
            w = idx[p]
            if color[w] < 0:
                continue
            # each tree around w: its colour c and an edge r in it; two neighbours of
            # v in one two-coloured tree forbid v its colour c (it would close a cycle)
            if ptr[w + 1] - ptr[w] > _LIST_DEGREE:
                a = head[w]
                while a >= 0:
                    c = ent_color[a]
                    r = ent_edge[a]
                    a = nxt[a]
                    if forbidden[c] == v:
                        continue
                    while parent[r] != r:
                        parent[r] = parent[parent[r]]
                        r = parent[r]
                    if seen_v[r] != v:
                        seen_v[r] = v
                        seen_w[r] = w
                    elif seen_w[r] != w:
                        forbidden[c] = v
            else:
                for q in range(ptr[w], ptr[w + 1]):
                    x = idx[q]
                    c = color[x]
                    if x == v or c < 0 or forbidden[c] == v:
                        continue
                    r = min(q, rev[q])
                    while parent[r] != r:
                        parent[r] = parent[parent[r]]
                        r = parent[r]
                    if seen_v[r] != v:
                        seen_v[r] = v
                        seen_w[r] = w
                    elif seen_w[r] != w:
                        forbidden[c] = v
        c = 0
        while forbidden[c] == v:
            c += 1
        color[v] = c
        if c >= ncolors:
            ncolors = c + 1
        v_listed = ptr[v + 1] - ptr[v] > _LIST_DEGREE
        for p in range(ptr[v], ptr[v + 1]):
            w = idx[p]
            d = color[w]
            if d < 0:
                continue
            e = min(p, rev[p])
            # e joins v's tree towards colour d and w's tree towards colour c
            if first_at[d] != v:
                first_at[d] = v
                first_edge[d] = e
                others = -1
                if v_listed:
                    ent_color[nent] = d
                    ent_edge[nent] = e
                    nxt[nent] = head[v]
                    head[v] = nent
                    nent += 1
            else:
                others = first_edge[d]
            g = -1
            lo = hi = ptr[w]
            if ptr[w + 1] - ptr[w] > _LIST_DEGREE:
                a = head[w]
                while a >= 0:
                    if ent_color[a] == c:
                        g = ent_edge[a]
                        break
                    a = nxt[a]
                if g < 0:
                    ent_color[nent] = c
                    ent_edge[nent] = e
                    nxt[nent] = head[w]
                    head[w] = nent
                    nent += 1
            else:
                hi = ptr[w + 1]
            for q in range(lo, hi + 2):   # w's edges to colour c, then others, then g
                if q < hi:
                    if idx[q] == v or color[idx[q]] != c:
                        continue
                    f = min(q, rev[q])
                else:
                    f = others if q == hi else g
                    if f < 0:
                        continue
                a = e
                while parent[a] != a:
                    parent[a] = parent[parent[a]]
                    a = parent[a]
                b = f
                while parent[b] != b:
                    parent[b] = parent[parent[b]]
                    b = parent[b]
                if a != b:
                    if size[a] < size[b]:
                        a, b = b, a
                    parent[b] = a
                    size[a] += size[b]
    return color, ncolors


def _substitute_kernel(ptr, idx, rev, colors, B, ncolors):  # pragma: no cover - jitted
    # Peel the two-coloured forests leaf by leaf.  For (i, c): how many neighbours of
    # colour c are still unknown, the sum of their ids (the last one, when one is
    # left), and B[i, c] minus the known ones.
    n = ptr.shape[0] - 1
    nnz = idx.shape[0]
    cnt = np.zeros((n, ncolors), dtype=np.int64)
    ids = np.zeros((n, ncolors), dtype=np.int64)
    res = B.copy()
    for i in range(n):
        for p in range(ptr[i], ptr[i + 1]):
            j = idx[p]
            cnt[i, colors[j]] += 1
            ids[i, colors[j]] += j
    stack = np.empty(nnz + n * ncolors + 1, dtype=np.int64)
    top = 0
    for i in range(n):
        for c in range(ncolors):
            if cnt[i, c] == 1:
                stack[top] = i * ncolors + c
                top += 1
    vals = np.zeros(nnz, dtype=B.dtype)
    done = 0
    while top > 0:
        top -= 1
        i = stack[top] // ncolors
        c = stack[top] % ncolors
        if cnt[i, c] != 1:
            continue
        j = ids[i, c]
        lo = ptr[i]
        hi = ptr[i + 1]
        while lo < hi:            # binary search for j in row i (sorted)
            mid = (lo + hi) // 2
            if idx[mid] < j:
                lo = mid + 1
            else:
                hi = mid
        val = res[i, c]
        vals[lo] = val
        vals[rev[lo]] = val
        done += 2
        cnt[i, c] = 0
        ci = colors[i]
        res[j, ci] -= val
        cnt[j, ci] -= 1
        ids[j, ci] -= i
        if cnt[j, ci] == 1:
            stack[top] = j * ncolors + ci
            top += 1
    return vals, done


def _clique_kernel(ptr, idx):  # pragma: no cover - jitted
    # Around every vertex v: add v's neighbours in order (the first 64) when adjacent
    # to every member so far (binary search in the sorted rows).  Any clique found
    # bounds the colours from below; the cap keeps the cost O(n * 64 * size).
    n = ptr.shape[0] - 1
    members = np.empty(65, dtype=np.int64)
    best = 1
    for v in range(n):
        members[0] = v
        size = 1
        stop = min(ptr[v + 1], ptr[v] + 64)
        for p in range(ptr[v], stop):
            u = idx[p]
            ok = True
            for t in range(1, size):
                m = members[t]
                lo = ptr[u]
                hi = ptr[u + 1]
                while lo < hi:
                    mid = (lo + hi) // 2
                    if idx[mid] < m:
                        lo = mid + 1
                    else:
                        hi = mid
                if lo == ptr[u + 1] or idx[lo] != m:
                    ok = False
                    break
            if ok:
                members[size] = u
                size += 1
        if size > best:
            best = size
    return best


def _graph_kernel(indptr, indices):  # pragma: no cover - jitted
    # Drop the diagonal and find every entry's mirror by one counting transpose: the
    # k-th entry of column j (rows ascending) mirrors the k-th entry of row j when the
    # pattern is symmetric, which is checked on the way.
    n = indptr.shape[0] - 1
    ptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        d = 0
        for p in range(indptr[i], indptr[i + 1]):
            if indices[p] != i:
                d += 1
        ptr[i + 1] = ptr[i] + d
    nnz = ptr[n]
    idx = np.empty(nnz, dtype=np.int64)
    rows = np.empty(nnz, dtype=np.int64)
    rev = np.empty(nnz, dtype=np.int64)
    nxt = ptr[:-1].copy()
    q = 0
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if j != i:
                idx[q] = j
                rows[q] = i
                q += 1
    for q in range(nnz):
        i = rows[q]
        j = idx[q]
        r = nxt[j]
        if r >= ptr[j + 1] or idx[r] != i:
            return False, ptr, idx, rows, rev
        nxt[j] = r + 1
        rev[q] = r
    return True, ptr, idx, rows, rev


def _direct_kernel(ptr, idx, rev, colors, B):  # pragma: no cover - jitted
    # Direct recovery into a CSR array with the diagonal: entry p = (i, j) is read at
    # (i, colors[j]) if i has no other neighbour of colour colors[j], else at
    # (j, colors[i]); both halves of a pair take the reading of the lower position, so
    # H is symmetric bit for bit.  ok is False if some edge has no end to read it at.
    n = ptr.shape[0] - 1
    nnz = idx.shape[0]
    k = B.shape[1]
    cnt = np.zeros(k, dtype=np.int64)
    one = np.zeros(nnz, dtype=np.bool_)
    for i in range(n):
        for p in range(ptr[i], ptr[i + 1]):
            cnt[colors[idx[p]]] += 1
        for p in range(ptr[i], ptr[i + 1]):
            one[p] = cnt[colors[idx[p]]] == 1
        for p in range(ptr[i], ptr[i + 1]):
            cnt[colors[idx[p]]] = 0
    data = np.empty(nnz + n, dtype=B.dtype)
    indices = np.empty(nnz + n, dtype=np.int64)
    indptr = np.empty(n + 1, dtype=np.int64)
    q = 0
    for i in range(n):
        indptr[i] = q
        diag = False
        for p in range(ptr[i], ptr[i + 1]):
            j = idx[p]
            if not diag and j > i:
                data[q] = B[i, colors[i]]
                indices[q] = i
                q += 1
                diag = True
            r = rev[p]
            if not (one[p] or one[r]):
                return data, indices, indptr, False
            if p <= r:
                v = B[i, colors[j]] if one[p] else B[j, colors[i]]
            else:
                v = B[j, colors[i]] if one[r] else B[i, colors[j]]
            data[q] = v
            indices[q] = j
            q += 1
        if not diag:
            data[q] = B[i, colors[i]]
            indices[q] = i
            q += 1
    indptr[n] = q
    return data, indices, indptr, True
