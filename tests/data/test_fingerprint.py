"""file_set_fingerprint: the same set anywhere, in any order; any change shows."""

from __future__ import annotations

from fracturenet.data.fingerprint import file_set_fingerprint


def test_fingerprint_ignores_location_and_order_but_not_content(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        for name, size in (("x.png", 3), ("y.png", 5)):
            (tmp_path / folder / name).write_bytes(b"0" * size)
    a = [str(tmp_path / "a" / n) for n in ("x.png", "y.png")]
    b = [str(tmp_path / "b" / n) for n in ("y.png", "x.png")]
    ref = file_set_fingerprint(a, [0, 1])
    assert file_set_fingerprint(b, [1, 0]) == ref and ref["n"] == 2
    assert file_set_fingerprint(a, [1, 0]) != ref  # a label changed
    assert file_set_fingerprint(a[:1], [0]) != ref  # an image left out
    (tmp_path / "b" / "x.png").write_bytes(b"0" * 4)  # a file changed size
    assert file_set_fingerprint(b, [1, 0]) != ref
