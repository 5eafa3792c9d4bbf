"""TSPLIB95 reader for symmetric and asymmetric TSP instances (Reinelt 1991; TSPLIB95 format spec).

Supported: ``TYPE`` ``TSP`` and ``ATSP``; ``EDGE_WEIGHT_TYPE`` ``EUC_2D``, ``EUC_3D``, ``MAN_2D``,
``MAN_3D``, ``MAX_2D``, ``MAX_3D``, ``CEIL_2D``, ``GEO``, ``ATT`` (from ``NODE_COORD_SECTION``) and
``EXPLICIT`` with every ``EDGE_WEIGHT_FORMAT`` (``FULL_MATRIX``, ``UPPER_ROW``, ``LOWER_ROW``,
``UPPER_DIAG_ROW``, ``LOWER_DIAG_ROW``, ``UPPER_COL``, ``LOWER_COL``, ``UPPER_DIAG_COL``,
``LOWER_DIAG_COL``). Distances follow the TSPLIB95 definitions exactly (Reinelt, "TSPLIB95",
Sec. 2.1-2.4, and the TSPLIB FAQ on ``GEO``):

* ``nint(x) = int(x + 0.5)``;
* ``EUC_2D``/``EUC_3D``: ``nint(sqrt(sum dx^2))``; ``CEIL_2D``: ``ceil(sqrt(dx^2 + dy^2))``;
  ``MAN``: ``nint(sum |dx|)``; ``MAX``: ``max_k nint(|dx_k|)``;
* ``GEO``: coordinates are ``DDD.MM`` (degrees, minutes); ``PI = 3.141592``, ``deg = int(x)``
  (truncation), ``min = x - deg``, ``rad = PI (deg + 5 min / 3) / 180``; with ``q1 = cos(lon_i -
  lon_j)``, ``q2 = cos(lat_i - lat_j)``, ``q3 = cos(lat_i + lat_j)``:
  ``d = int(6378.388 acos(0.5 ((1 + q1) q2 - (1 - q1) q3)) + 1)``; ``d(i, i) = 0``;
* ``ATT`` (pseudo-Euclidean): ``r = sqrt((dx^2 + dy^2) / 10)``, ``t = nint(r)``, ``d = t + 1`` if
  ``t < r`` else ``t``.

Distances are returned as a float64 matrix of exact integers, ready for
:func:`mdp.cop.solve_tsp_exact`. ``DISPLAY_DATA_SECTION`` and ``FIXED_EDGES_SECTION`` are read and
ignored; other problem types (CVRP, SOP, HCP, TOUR) and ``XRAY1``/``XRAY2``/``SPECIAL`` distances
are rejected with a clear error.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mdp._common import result

__all__ = ["TSPLIBInstance", "read_tsplib", "tsplib_distance", "TSPLIB_PI", "GEO_RADIUS"]

TSPLIB_PI = 3.141592  # TSPLIB95's truncated pi for GEO (not math.pi: the optima depend on it)
GEO_RADIUS = 6378.388

_COORD_TYPES = {
    "EUC_2D": 2,
    "EUC_3D": 3,
    "MAN_2D": 2,
    "MAN_3D": 3,
    "MAX_2D": 2,
    "MAX_3D": 3,
    "CEIL_2D": 2,
    "GEO": 2,
    "ATT": 2,
}
_FORMATS = (
    "FULL_MATRIX",
    "UPPER_ROW",
    "LOWER_ROW",
    "UPPER_DIAG_ROW",
    "LOWER_DIAG_ROW",
    "UPPER_COL",
    "LOWER_COL",
    "UPPER_DIAG_COL",
    "LOWER_DIAG_COL",
    "FUNCTION",
)
_KEYWORDS = {
    "NAME",
    "TYPE",
    "COMMENT",
    "DIMENSION",
    "CAPACITY",
    "EDGE_WEIGHT_TYPE",
    "EDGE_WEIGHT_FORMAT",
    "EDGE_DATA_FORMAT",
    "NODE_COORD_TYPE",
    "DISPLAY_DATA_TYPE",
}
_SECTIONS = {
    "NODE_COORD_SECTION",
    "EDGE_WEIGHT_SECTION",
    "DISPLAY_DATA_SECTION",
    "FIXED_EDGES_SECTION",
    "DEPOT_SECTION",
    "DEMAND_SECTION",
    "EDGE_DATA_SECTION",
    "TOUR_SECTION",
}


@result
class TSPLIBInstance:
    """A parsed TSPLIB95 TSP/ATSP instance.

    Attributes
    ----------
    name, type, comment : str
        ``NAME``, ``TYPE`` (``"TSP"`` or ``"ATSP"``) and ``COMMENT`` (several joined by newlines).
    dimension : int
        ``n``.
    edge_weight_type : str
        e.g. ``"GEO"``, ``"EUC_2D"``, ``"EXPLICIT"``.
    edge_weight_format : str or None
        For ``EXPLICIT`` instances.
    coords : ndarray, shape (n, 2) or (n, 3), or None
        ``NODE_COORD_SECTION`` in node order (TSPLIB node ``i`` is row ``i - 1``).
    dist : ndarray, shape (n, n)
        Integer distances (float64) by TSPLIB's rules; ``dist[i, j]`` is the arc ``i -> j``.
    """

    name: str
    type: str
    comment: str
    dimension: int
    edge_weight_type: str
    edge_weight_format: str | None
    coords: np.ndarray | None
    dist: np.ndarray


def _nint(x):
    return np.floor(x + 0.5)


def _geo_radians(x):
    deg = np.trunc(x)  # C's (int) cast: truncation toward zero
    minutes = x - deg
    return TSPLIB_PI * (deg + 5.0 * minutes / 3.0) / 180.0


def tsplib_distance(coords, edge_weight_type: str) -> np.ndarray:
    """Distance matrix of ``coords`` ``(n, k)`` under a TSPLIB95 ``EDGE_WEIGHT_TYPE`` (module docstring).

    Returns float64 ``(n, n)`` holding exact integers, zero diagonal.
    """
    ewt = str(edge_weight_type).upper()
    if ewt not in _COORD_TYPES:
        raise ValueError(
            f"edge_weight_type {edge_weight_type!r} is not supported; supported: {', '.join(_COORD_TYPES)}"
            " (and EXPLICIT via read_tsplib)"
        )
    x = np.asarray(coords, dtype=np.float64)
    k = _COORD_TYPES[ewt]
    if x.ndim != 2 or x.shape[1] != k:
        raise ValueError(f"coords for {ewt} must have shape (n, {k}), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("coords must be finite")
    diff = x[:, None, :] - x[None, :, :]
    if ewt in ("EUC_2D", "EUC_3D"):
        d = _nint(np.sqrt((diff**2).sum(-1)))
    elif ewt == "CEIL_2D":
        d = np.ceil(np.sqrt((diff**2).sum(-1)))
    elif ewt in ("MAN_2D", "MAN_3D"):
        d = _nint(np.abs(diff).sum(-1))
    elif ewt in ("MAX_2D", "MAX_3D"):
        d = _nint(np.abs(diff)).max(-1)
    elif ewt == "ATT":
        r = np.sqrt((diff**2).sum(-1) / 10.0)
        t = _nint(r)
        d = np.where(t < r, t + 1.0, t)
    else:  # GEO: x = latitude, y = longitude, both DDD.MM
        lat, lon = _geo_radians(x[:, 0]), _geo_radians(x[:, 1])
        q1 = np.cos(lon[:, None] - lon[None, :])
        q2 = np.cos(lat[:, None] - lat[None, :])
        q3 = np.cos(lat[:, None] + lat[None, :])
        arg = np.clip(0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3), -1.0, 1.0)
        d = np.trunc(GEO_RADIUS * np.arccos(arg) + 1.0)
    d = np.array(d, dtype=np.float64)
    np.fill_diagonal(d, 0.0)
    return d


def _needed_count(n: int, fmt: str) -> int:
    counts = {
        "FULL_MATRIX": n * n,
        "UPPER_ROW": n * (n - 1) // 2,
        "LOWER_ROW": n * (n - 1) // 2,
        "UPPER_COL": n * (n - 1) // 2,
        "LOWER_COL": n * (n - 1) // 2,
        "UPPER_DIAG_ROW": n * (n + 1) // 2,
        "LOWER_DIAG_ROW": n * (n + 1) // 2,
        "UPPER_DIAG_COL": n * (n + 1) // 2,
        "LOWER_DIAG_COL": n * (n + 1) // 2,
    }
    return counts[fmt]


def _explicit_matrix(values: list, n: int, fmt: str) -> np.ndarray:
    need = _needed_count(n, fmt)
    if len(values) != need:
        raise ValueError(
            f"EDGE_WEIGHT_SECTION has {len(values)} numbers; EDGE_WEIGHT_FORMAT {fmt} with DIMENSION {n} "
            f"needs exactly {need}"
        )
    v = np.asarray(values, dtype=np.float64)
    if fmt == "FULL_MATRIX":
        return v.reshape(n, n).copy()
    # row-wise upper == column-wise lower (and vice versa) for a symmetric matrix
    canonical = {
        "UPPER_ROW": ("upper", False),
        "LOWER_COL": ("upper", False),
        "LOWER_ROW": ("lower", False),
        "UPPER_COL": ("lower", False),
        "UPPER_DIAG_ROW": ("upper", True),
        "LOWER_DIAG_COL": ("upper", True),
        "LOWER_DIAG_ROW": ("lower", True),
        "UPPER_DIAG_COL": ("lower", True),
    }
    side, diag = canonical[fmt]
    M = np.zeros((n, n))
    it = iter(v)
    for i in range(n):
        cols = range(i if diag else i + 1, n) if side == "upper" else range(0, i + 1 if diag else i)
        for j in cols:
            M[i, j] = next(it)
    off = np.triu(M, 1) if side == "upper" else np.tril(M, -1)
    return off + off.T + np.diag(np.diag(M))


def _read_text(text_or_path) -> str:
    if isinstance(text_or_path, bytes):
        return text_or_path.decode("utf-8")
    if isinstance(text_or_path, os.PathLike):
        return Path(text_or_path).read_text()
    if isinstance(text_or_path, str):
        if not text_or_path.strip():
            raise ValueError(
                f"text_or_path is empty ({text_or_path!r}): pass the TSPLIB text itself or a path to a file"
            )
        if "\n" in text_or_path:
            return text_or_path
        # one line cannot hold a TSPLIB instance: read it as a path
        p = Path(text_or_path)
        if not p.is_file():
            raise FileNotFoundError(
                f"text_or_path: no TSPLIB file at {text_or_path!r} (pass the text itself or a path)"
            )
        return p.read_text()
    raise TypeError(f"text_or_path must be TSPLIB text, bytes or a path, got {type(text_or_path).__name__}")


def read_tsplib(text_or_path) -> TSPLIBInstance:
    """Parse a TSPLIB95 ``TSP``/``ATSP`` instance and compute its distance matrix.

    Parameters
    ----------
    text_or_path : str, bytes or os.PathLike
        The file's text, or a path to it (a ``str`` without a newline that names a file, or a
        ``pathlib.Path``).

    Returns
    -------
    TSPLIBInstance
        With ``.dist`` ``(n, n)`` by TSPLIB's rules (module docstring) and ``.coords`` when given.

    Raises
    ------
    ValueError
        Unknown keywords or sections, unsupported ``TYPE`` or ``EDGE_WEIGHT_TYPE``, missing or
        non-positive ``DIMENSION``, a missing ``NODE_COORD_SECTION`` / ``EDGE_WEIGHT_SECTION``, a
        section with the wrong number of entries, duplicate or out-of-range node indices, negative
        or non-finite weights, an asymmetric explicit matrix under ``TYPE: TSP`` (that is ``ATSP``).
    """
    text = _read_text(text_or_path)
    spec: dict[str, str] = {}
    comments: list[str] = []
    coord_lines: list[tuple[int, list[str]]] | None = None
    weights: list[float] | None = None
    weights_end = 0
    spec_line: dict[str, int] = {}
    lines = text.splitlines()
    i = 0

    def section_body(start):
        """Lines from ``start`` up to the next keyword/section/EOF line."""
        body = []
        j = start
        while j < len(lines):
            s = lines[j].strip()
            head = s.split(":")[0].strip().upper() if s else ""
            if s.upper() == "EOF" or head in _KEYWORDS or head in _SECTIONS:
                break
            if s:
                body.append((j + 1, s))
            j += 1
        return body, j

    while i < len(lines):
        raw = lines[i].strip()
        if not raw:
            i += 1
            continue
        if raw.upper() == "EOF":
            break
        key, sep, value = raw.partition(":")
        key = key.strip().upper()
        if key in _SECTIONS:
            body, i = section_body(i + 1)
            if key == "NODE_COORD_SECTION":
                coord_lines = [(ln, s.split()) for ln, s in body]
            elif key == "EDGE_WEIGHT_SECTION":
                weights = []
                weights_end = body[-1][0] if body else i
                for ln, s in body:
                    for tok in s.split():
                        try:
                            weights.append(float(tok))
                        except ValueError:
                            raise ValueError(f"line {ln}: EDGE_WEIGHT_SECTION entry {tok!r} is not a number") from None
            # DISPLAY_DATA, FIXED_EDGES, ...: read and ignored
            continue
        if key not in _KEYWORDS:
            raise ValueError(f"line {i + 1}: unknown TSPLIB keyword or section {raw.split()[0]!r}")
        value = value.strip()
        if key == "COMMENT":
            comments.append(value)
        else:
            spec[key] = value
            spec_line[key] = i + 1
        i += 1

    typ = spec.get("TYPE", "").split()[0].upper() if spec.get("TYPE") else ""
    if typ not in ("TSP", "ATSP"):
        raise ValueError(
            f"TYPE {spec.get('TYPE')!r} is not supported; read_tsplib reads TSP and ATSP instances"
            if typ
            else "missing TYPE (expected TSP or ATSP)"
        )
    if "DIMENSION" not in spec:
        raise ValueError("missing DIMENSION")
    try:
        n = int(spec["DIMENSION"])
    except ValueError:
        raise ValueError(
            f"line {spec_line['DIMENSION']}: DIMENSION must be a positive integer, got {spec['DIMENSION']!r}"
        ) from None
    if n < 1:
        raise ValueError(f"line {spec_line['DIMENSION']}: DIMENSION must be a positive integer, got {n}")
    ewt = spec.get("EDGE_WEIGHT_TYPE", "").upper()
    if not ewt:
        raise ValueError("missing EDGE_WEIGHT_TYPE")
    fmt = spec.get("EDGE_WEIGHT_FORMAT", "").upper() or None
    if fmt is not None and fmt not in _FORMATS:
        raise ValueError(f"EDGE_WEIGHT_FORMAT {fmt!r} is not a TSPLIB95 format; expected one of {', '.join(_FORMATS)}")

    coords = None
    if coord_lines is not None:
        for ln, toks in coord_lines:  # first: a line cut short (a truncated file) is named by its number
            if len(toks) not in (3, 4) or len(toks) != len(coord_lines[0][1]):
                raise ValueError(
                    f"line {ln}: NODE_COORD_SECTION entry {' '.join(toks)!r} is not 'index x y' or "
                    "'index x y z' like the section's first line (is the file truncated?)"
                )
        if len(coord_lines) != n:
            where = (
                f" (its last entry is line {coord_lines[-1][0]}; is the file truncated?)"
                if coord_lines and len(coord_lines) < n
                else ""
            )
            raise ValueError(f"NODE_COORD_SECTION has {len(coord_lines)} lines; DIMENSION is {n}{where}")
        coords = np.empty((n, len(coord_lines[0][1]) - 1))
        seen = np.zeros(n, dtype=bool)
        for ln, toks in coord_lines:
            try:
                idx = int(toks[0])
                vals = [float(t) for t in toks[1:]]
            except ValueError:
                raise ValueError(f"line {ln}: NODE_COORD_SECTION entry {' '.join(toks)!r} is not 'index x y'") from None
            if not 1 <= idx <= n:
                raise ValueError(f"line {ln}: node index {idx} outside 1..DIMENSION = 1..{n}")
            if seen[idx - 1]:
                raise ValueError(f"line {ln}: node index {idx} appears twice in NODE_COORD_SECTION")
            seen[idx - 1] = True
            coords[idx - 1] = vals
        if not np.all(np.isfinite(coords)):
            raise ValueError("NODE_COORD_SECTION coordinates must be finite")

    if ewt == "EXPLICIT":
        if fmt is None or fmt == "FUNCTION":
            raise ValueError(
                "EDGE_WEIGHT_TYPE EXPLICIT needs an EDGE_WEIGHT_FORMAT such as FULL_MATRIX or LOWER_DIAG_ROW"
            )
        if weights is None:
            raise ValueError("EDGE_WEIGHT_TYPE EXPLICIT needs an EDGE_WEIGHT_SECTION")
        if typ == "ATSP" and fmt != "FULL_MATRIX":
            raise ValueError(f"ATSP instances need EDGE_WEIGHT_FORMAT FULL_MATRIX, got {fmt}")
        try:
            dist = _explicit_matrix(weights, n, fmt)
        except ValueError as exc:
            short = len(weights) < _needed_count(n, fmt)
            raise ValueError(
                f"{exc} (the section's last entry is line {weights_end}"
                + ("; is the file truncated?)" if short else ")")
            ) from None
        if not np.all(np.isfinite(dist)):
            raise ValueError("EDGE_WEIGHT_SECTION entries must be finite")
        if dist.min() < 0:
            a, b = np.unravel_index(int(np.argmin(dist)), dist.shape)
            raise ValueError(f"EDGE_WEIGHT_SECTION must be non-negative; weight ({a + 1}, {b + 1}) = {dist[a, b]}")
        if typ == "TSP":  # only FULL_MATRIX can be asymmetric; the triangular formats are symmetric by construction
            asym = np.argwhere(np.triu(dist != dist.T, 1))
            if asym.size:
                a, b = (int(v) for v in asym[0])
                raise ValueError(
                    f"TYPE TSP needs a symmetric EDGE_WEIGHT_SECTION, but weight ({a + 1}, {b + 1}) = {dist[a, b]:g} "
                    f"differs from ({b + 1}, {a + 1}) = {dist[b, a]:g}; asymmetric instances have TYPE ATSP"
                )
    elif ewt in _COORD_TYPES:
        if coords is None:
            raise ValueError(f"EDGE_WEIGHT_TYPE {ewt} needs a NODE_COORD_SECTION")
        k = _COORD_TYPES[ewt]
        if coords.shape[1] != k:
            raise ValueError(f"EDGE_WEIGHT_TYPE {ewt} needs {k} coordinates per node, got {coords.shape[1]}")
        dist = tsplib_distance(coords, ewt)
    else:
        raise ValueError(f"EDGE_WEIGHT_TYPE {ewt!r} is not supported; supported: EXPLICIT, {', '.join(_COORD_TYPES)}")
    return TSPLIBInstance(
        name=spec.get("NAME", ""),
        type=typ,
        comment="\n".join(comments),
        dimension=n,
        edge_weight_type=ewt,
        edge_weight_format=fmt,
        coords=coords,
        dist=dist,
    )
