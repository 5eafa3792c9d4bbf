"""TSPLIB95 reader: known optima, distance rules by hand, every explicit format, bad input."""

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdp.cop import read_tsplib, solve_tsp_exact, tsplib_distance

DATA = Path(__file__).parent / "data" / "tsplib"


# --------------------------------------------------------------------------- known values
@pytest.mark.parametrize(
    "name, n, optimum",
    [
        # TSPLIB95 (Reinelt 1991), optimal tour lengths from the TSPLIB95 symmetric-TSP page
        ("burma14.tsp", 14, 3323.0),
        ("ulysses16.tsp", 16, 6859.0),
        ("gr17.tsp", 17, 2085.0),
        # constructed (tests/data/tsplib/README.md): the successor arcs cost 2, all others >= 3
        ("tiny5.atsp", 5, 10.0),
    ],
)
def test_known_optima(name, n, optimum):
    inst = read_tsplib(DATA / name)
    assert inst.dimension == n and inst.dist.shape == (n, n)
    r = solve_tsp_exact(inst.dist)
    assert r.length == optimum
    assert sorted(r.tour.tolist()) == list(range(n))


def test_header_fields():
    b = read_tsplib(DATA / "burma14.tsp")
    assert (b.name, b.type, b.edge_weight_type, b.edge_weight_format) == ("burma14", "TSP", "GEO", "FUNCTION")
    assert b.comment.startswith("14-Staedte in Burma") and "Reinelt" in b.comment
    assert b.coords.shape == (14, 2) and b.coords[9].tolist() == [14.05, 98.12]
    g = read_tsplib(DATA / "gr17.tsp")
    assert g.coords is None and g.edge_weight_format == "LOWER_DIAG_ROW"
    # first column of gr17 (TSPLIB95 LOWER_DIAG_ROW data)
    assert g.dist[:, 0].tolist() == [0, 633, 257, 91, 412, 150, 80, 134, 259, 505, 353, 324, 70, 211, 268, 246, 121]
    assert np.array_equal(g.dist, g.dist.T)
    t = read_tsplib(DATA / "tiny5.atsp")
    assert t.type == "ATSP" and not np.array_equal(t.dist, t.dist.T)
    assert not b.dist.flags.writeable


def test_distance_rules_by_hand():
    pts = np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0], [1.5, 2.0]])
    euc = tsplib_distance(pts, "EUC_2D")
    assert euc[0, 1] == 5 and euc[0, 2] == 1 and euc[0, 3] == 3  # nint(2.5) = int(3.0) = 3
    assert tsplib_distance(pts, "CEIL_2D")[0, 2] == 2
    assert tsplib_distance(pts, "MAN_2D")[0, 1] == 7 and tsplib_distance(pts, "MAX_2D")[0, 1] == 4
    att = tsplib_distance(np.array([[0.0, 0], [10, 0], [10, 30], [30, 40]]), "ATT")
    assert att[0, 1] == 4  # r = sqrt(10) = 3.16, nint 3 < r -> 4
    assert att[0, 2] == 10  # r = sqrt(1000 / 10) = 10 exactly
    assert att[0, 3] == 16  # r = sqrt(250) = 15.81, nint 16 >= r -> 16
    e3 = tsplib_distance(np.array([[0.0, 0, 0], [1, 2, 2]]), "EUC_3D")
    assert e3[0, 1] == 3


def _geo_scalar(a, b):
    """TSPLIB95 GEO, written line by line from the spec (scalar, math module)."""
    PI = 3.141592

    def rad(x):
        deg = int(x)
        return PI * (deg + 5.0 * (x - deg) / 3.0) / 180.0

    lat_i, lon_i, lat_j, lon_j = rad(a[0]), rad(a[1]), rad(b[0]), rad(b[1])
    q1, q2, q3 = math.cos(lon_i - lon_j), math.cos(lat_i - lat_j), math.cos(lat_i + lat_j)
    return int(6378.388 * math.acos(0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3)) + 1.0)


def test_geo_matches_scalar_definition_including_negative_coordinates():
    x = read_tsplib(DATA / "ulysses16.tsp").coords  # node 11 has longitude -5.21
    d = tsplib_distance(x, "GEO")
    for i in range(16):
        for j in range(16):
            if i != j:
                assert d[i, j] == _geo_scalar(x[i], x[j])
    # truncation, not rounding or floor: with floor the -5.21 longitude would move by 0.79 degrees
    assert int(-5.21) == -5


# --------------------------------------------------------------------------- explicit formats
def _render(M, fmt):
    n = M.shape[0]
    if fmt == "FULL_MATRIX":
        vals = M.ravel()
    else:
        upper = fmt.startswith("UPPER")
        diag = "DIAG" in fmt
        row = fmt.endswith("ROW")
        out = []
        for i in range(n):
            if upper == row:  # UPPER_ROW / LOWER_COL: the upper triangle row by row
                js = range(i if diag else i + 1, n)
            else:
                js = range(0, i + 1 if diag else i)
            out += [M[i, j] if row else M[j, i] for j in js]
        vals = np.array(out)
    body = "\n".join(" ".join(str(int(v)) for v in vals[k : k + 7]) for k in range(0, len(vals), 7))
    return (
        f"NAME: t\nTYPE: TSP\nDIMENSION: {n}\nEDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_FORMAT: {fmt}\n"
        f"EDGE_WEIGHT_SECTION\n{body}\nEOF\n"
    )


FORMATS = [
    "FULL_MATRIX",
    "UPPER_ROW",
    "LOWER_ROW",
    "UPPER_DIAG_ROW",
    "LOWER_DIAG_ROW",
    "UPPER_COL",
    "LOWER_COL",
    "UPPER_DIAG_COL",
    "LOWER_DIAG_COL",
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_explicit_format_reads_the_same_matrix(fmt):
    M = np.array([[0, 1, 2, 3], [1, 0, 4, 5], [2, 4, 0, 6], [3, 5, 6, 0]], dtype=float)
    assert np.array_equal(read_tsplib(_render(M, fmt)).dist, M)


def test_lower_diag_row_layout_by_hand():
    text = (
        "NAME: x\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_FORMAT: LOWER_DIAG_ROW\n"
        "EDGE_WEIGHT_SECTION\n0\n7 0\n8 9 0\nEOF\n"
    )
    assert read_tsplib(text).dist.tolist() == [[0, 7, 8], [7, 0, 9], [8, 9, 0]]
    text = text.replace("LOWER_DIAG_ROW", "UPPER_ROW").replace("0\n7 0\n8 9 0", "7 8\n9")
    assert read_tsplib(text).dist.tolist() == [[0, 7, 8], [7, 0, 9], [8, 9, 0]]


@settings(max_examples=20)
@given(st.integers(2, 7), st.sampled_from(FORMATS), st.integers(0, 2**31 - 1))
def test_property_render_then_read_roundtrips(n, fmt, seed):
    rng = np.random.default_rng(seed)
    M = rng.integers(0, 1000, size=(n, n)).astype(float)
    M = np.triu(M, 1) + np.triu(M, 1).T
    assert np.array_equal(read_tsplib(_render(M, fmt)).dist, M)


@settings(max_examples=20)
@given(st.lists(st.tuples(st.floats(-90, 90), st.floats(-180, 180)), min_size=2, max_size=6))
def test_property_geo_symmetric_integer_and_matches_scalar(points):
    x = np.array(points)
    d = tsplib_distance(x, "GEO")
    assert np.array_equal(d, d.T) and np.all(d == np.round(d)) and np.all(np.diag(d) == 0)
    assert d[0, 1] == _geo_scalar(x[0], x[1]) or np.allclose(x[0], x[1])


# --------------------------------------------------------------------------- inputs
def test_text_path_str_and_bytes_agree():
    p = DATA / "burma14.tsp"
    a = read_tsplib(p)
    for src in (str(p), p.read_text(), p.read_bytes()):
        assert np.array_equal(read_tsplib(src).dist, a.dist)


def test_sections_ignored_and_colon_spacing():
    text = (
        "NAME : x\nTYPE : TSP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 3 4\n3 6 8\n"
        "DISPLAY_DATA_SECTION\n1 0 0\n2 1 1\n3 2 2\nFIXED_EDGES_SECTION\n1 2\n-1\nEOF\n"
    )
    assert read_tsplib(text).dist.tolist() == [[0, 5, 10], [5, 0, 5], [10, 5, 0]]


# --------------------------------------------------------------------------- bad input
_EUC = "NAME: x\nTYPE: TSP\nDIMENSION: {n}\nEDGE_WEIGHT_TYPE: {t}\nNODE_COORD_SECTION\n1 0 0\n2 3 4\n3 6 8\nEOF\n"


_ASYM = (
    "NAME: a\nTYPE: {t}\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_FORMAT: FULL_MATRIX\n"
    "EDGE_WEIGHT_SECTION\n0 1 7\n1 0 2\n5 2 0\nEOF\n"
)


@pytest.mark.parametrize(
    "text, exc, match",
    [
        (_EUC.format(n=4, t="EUC_2D"), ValueError, r"NODE_COORD_SECTION has 3 lines; DIMENSION is 4"),
        (_EUC.format(n=2, t="EUC_2D"), ValueError, r"NODE_COORD_SECTION has 3 lines; DIMENSION is 2"),
        (_EUC.format(n=3, t="XRAY1"), ValueError, r"EDGE_WEIGHT_TYPE 'XRAY1' is not supported"),
        (_EUC.format(n=3, t="SPECIAL"), ValueError, r"EDGE_WEIGHT_TYPE 'SPECIAL' is not supported"),
        (_EUC.format(n=3, t="EUC_3D"), ValueError, r"EUC_3D needs 3 coordinates per node"),
        (_EUC.format(n=0, t="EUC_2D"), ValueError, r"DIMENSION must be a positive integer, got 0"),
        (_EUC.format(n="three", t="EUC_2D"), ValueError, r"DIMENSION must be a positive integer, got 'three'"),
        (_EUC.replace("TYPE: TSP", "TYPE: CVRP").format(n=3, t="EUC_2D"), ValueError, r"TYPE 'CVRP' is not supported"),
        (_EUC.replace("TYPE: TSP\n", "").format(n=3, t="EUC_2D"), ValueError, r"missing TYPE"),
        (_EUC.replace("DIMENSION: {n}\n", "").format(t="EUC_2D"), ValueError, r"missing DIMENSION"),
        (_EUC.replace("EDGE_WEIGHT_TYPE: {t}\n", "").format(n=3), ValueError, r"missing EDGE_WEIGHT_TYPE"),
        (_EUC.split("NODE_COORD")[0].format(n=3, t="GEO") + "EOF\n", ValueError, r"GEO needs a NODE_COORD_SECTION"),
        (_EUC.replace("2 3 4", "1 3 4").format(n=3, t="EUC_2D"), ValueError, r"node index 1 appears twice"),
        (_EUC.replace("3 6 8", "9 6 8").format(n=3, t="EUC_2D"), ValueError, r"node index 9 outside 1..DIMENSION"),
        (_EUC.replace("3 6 8", "3 6 x").format(n=3, t="EUC_2D"), ValueError, r"is not 'index x y'"),
        (
            _EUC.replace("NAME: x", "NAME: x\nFOO: 1").format(n=3, t="EUC_2D"),
            ValueError,
            r"unknown TSPLIB keyword or section 'FOO:'",
        ),
        (
            "NAME: x\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_FORMAT: FULL_MATRIX\n"
            "EDGE_WEIGHT_SECTION\n0 1 2\n1 0\nEOF\n",
            ValueError,
            r"EDGE_WEIGHT_SECTION has 5 numbers; EDGE_WEIGHT_FORMAT FULL_MATRIX with DIMENSION 3 needs exactly 9",
        ),
        (
            "NAME: x\nTYPE: TSP\nDIMENSION: 2\nEDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_FORMAT: FULL_MATRIX\nEOF\n",
            ValueError,
            r"EXPLICIT needs an EDGE_WEIGHT_SECTION",
        ),
        (
            "NAME: x\nTYPE: TSP\nDIMENSION: 2\nEDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_SECTION\n0 1 1 0\nEOF\n",
            ValueError,
            r"EXPLICIT needs an EDGE_WEIGHT_FORMAT",
        ),
        (
            "NAME: x\nTYPE: TSP\nDIMENSION: 2\nEDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_FORMAT: DIAGONAL\n"
            "EDGE_WEIGHT_SECTION\n0 1 1 0\nEOF\n",
            ValueError,
            r"EDGE_WEIGHT_FORMAT 'DIAGONAL' is not a TSPLIB95 format",
        ),
        (
            "NAME: x\nTYPE: TSP\nDIMENSION: 2\nEDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_FORMAT: FULL_MATRIX\n"
            "EDGE_WEIGHT_SECTION\n0 -1 1 0\nEOF\n",
            ValueError,
            r"must be non-negative; weight \(1, 2\) = -1",
        ),
        (
            "NAME: x\nTYPE: TSP\nDIMENSION: 2\nEDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_FORMAT: FULL_MATRIX\n"
            "EDGE_WEIGHT_SECTION\n0 nan 1 0\nEOF\n",
            ValueError,
            r"entries must be finite",
        ),
        (
            "NAME: x\nTYPE: TSP\nDIMENSION: 2\nEDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_FORMAT: FULL_MATRIX\n"
            "EDGE_WEIGHT_SECTION\n0 one 1 0\nEOF\n",
            ValueError,
            r"entry 'one' is not a number",
        ),
        (
            "NAME: x\nTYPE: ATSP\nDIMENSION: 2\nEDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_FORMAT: UPPER_ROW\n"
            "EDGE_WEIGHT_SECTION\n1\nEOF\n",
            ValueError,
            r"ATSP instances need EDGE_WEIGHT_FORMAT FULL_MATRIX",
        ),
        (
            _ASYM.format(t="TSP"),
            ValueError,
            r"TYPE TSP needs a symmetric EDGE_WEIGHT_SECTION, but weight \(1, 3\) = 7 differs from \(3, 1\) = 5; "
            r"asymmetric instances have TYPE ATSP",
        ),
    ],
)
def test_bad_instances(text, exc, match):
    with pytest.raises(exc, match=match):
        read_tsplib(text)


def test_asymmetric_explicit_matrix_is_read_as_atsp_only():
    # the same matrix labelled ATSP is accepted and kept as written (rows = from, columns = to)
    inst = read_tsplib(_ASYM.format(t="ATSP"))
    assert inst.type == "ATSP" and inst.dist.tolist() == [[0, 1, 7], [1, 0, 2], [5, 2, 0]]
    # a symmetric FULL_MATRIX under TYPE TSP still reads (the diagonal is not compared)
    sym = _ASYM.format(t="TSP").replace("5 2 0", "7 2 9")
    assert read_tsplib(sym).dist.tolist() == [[0, 1, 7], [1, 0, 2], [7, 2, 9]]


def test_bad_sources_and_distance_types(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no TSPLIB file at"):
        read_tsplib(str(tmp_path / "missing.tsp"))
    with pytest.raises(FileNotFoundError):
        read_tsplib(tmp_path / "missing.tsp")
    with pytest.raises(TypeError, match=r"text_or_path must be TSPLIB text, bytes or a path, got int"):
        read_tsplib(14)
    with pytest.raises(ValueError, match=r"edge_weight_type 'XRAY2' is not supported"):
        tsplib_distance(np.zeros((2, 2)), "XRAY2")
    with pytest.raises(ValueError, match=r"coords for GEO must have shape \(n, 2\)"):
        tsplib_distance(np.zeros((2, 3)), "GEO")
    with pytest.raises(ValueError, match=r"coords must be finite"):
        tsplib_distance(np.array([[0.0, np.nan], [1, 1]]), "EUC_2D")
