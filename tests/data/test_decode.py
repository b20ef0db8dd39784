"""load_image(): every supported format and every bad input, checking the error message."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
from PIL import Image

from fracturenet.data import load_image
from fracturenet.data.decode import to_rgb_array
from fracturenet.exceptions import ImageDecodeError, MissingExtraError
from tests.data.conftest import gradient, write_image


def _check(img: np.ndarray, hw: tuple[int, int]) -> None:
    assert img.dtype == np.uint8 and img.shape == (*hw, 3) and img.flags["C_CONTIGUOUS"]


@pytest.mark.parametrize("ext", ["jpg", "png", "bmp", "tif", "webp"])
def test_rgb_formats(tmp_path, ext):
    pic = gradient(32, 20)
    path = tmp_path / f"x.{ext}"
    Image.fromarray(pic).save(path)
    img = load_image(path)
    _check(img, (20, 32))
    tol = 40 if ext in ("jpg", "webp") else 0  # lossy formats
    assert np.abs(img.astype(int) - pic).mean() <= tol


def test_grayscale_repeated_on_three_channels(tmp_path):
    img = load_image(write_image(tmp_path / "g.png", value=77))
    _check(img, (16, 24))
    assert (img == 77).all()


def test_16bit_png_scaled_from_its_own_range(tmp_path):
    data = np.array([[0, 1000], [2048, 4095]], np.uint16)  # 12-bit data in a 16-bit PNG
    path = tmp_path / "deep.png"
    Image.fromarray(data).save(path)
    assert Image.open(path).mode.startswith("I")
    img = load_image(path)
    _check(img, (2, 2))
    assert img[..., 0].tolist() == [[0, 62], [128, 255]]


def test_rgba_composited_on_black(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[0, 0, 3], rgba[1, 1, 3], rgba[2, 2, 3] = 0, 255, 128
    path = tmp_path / "a.png"
    Image.fromarray(rgba, "RGBA").save(path)
    img = load_image(path)
    assert (img[0, 0] == 0).all() and (img[1, 1] == 200).all() and (img[2, 2] == 100).all()


def test_palette_with_transparency(tmp_path):
    im = Image.new("P", (3, 3), 1)
    im.putpalette([0, 0, 0, 250, 250, 250] + [0] * 762)
    path = tmp_path / "p.png"
    im.save(path, transparency=1)
    assert (load_image(path) == 0).all()  # the transparent index lands on black


def test_cmyk_jpeg(tmp_path):
    path = tmp_path / "c.jpg"
    Image.new("CMYK", (8, 6), (0, 0, 0, 0)).save(path)  # no ink = white
    img = load_image(path)
    _check(img, (6, 8))
    assert img.min() > 240


def test_exif_orientation_applied(tmp_path):
    pic = np.zeros((10, 20, 3), np.uint8)
    pic[:, :10] = 255  # left half white
    im = Image.fromarray(pic)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "rot.jpg"
    im.save(path, exif=exif, quality=95)
    img = load_image(path)
    _check(img, (20, 10))  # width and height swapped
    assert img[:10].mean() > 200 and img[10:].mean() < 50  # left half is now on top


def test_unicode_and_space_names(tmp_path):
    path = write_image(tmp_path / "Fractura oblícua" / "radiografía (1) 骨.png")
    _check(load_image(path), (16, 24))


def test_zero_byte(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageDecodeError, match=r"empty.jpg.*zero-byte file") as e:
        load_image(path)
    assert e.value.path == str(path) and e.value.reason.startswith("zero-byte")


def test_truncated_jpeg(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(gradient(64, 64)).save(buf, "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageDecodeError, match=r"cut.jpg.*truncated JPEG data"):
        load_image(path)


def test_corrupt_png(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(gradient(64, 64)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    data[60:200] = b"\x00" * 140  # smash the compressed stream
    path = tmp_path / "bad.png"
    path.write_bytes(bytes(data))
    with pytest.raises(ImageDecodeError, match=r"bad.png.*(corrupt|truncated) PNG data"):
        load_image(path)


def test_text_named_jpg(tmp_path):
    path = tmp_path / "page.jpg"
    path.write_text("<html>404 Not Found</html>")
    with pytest.raises(
        ImageDecodeError, match=r"not an image: the file holds text \(starts with '<html>404"
    ):
        load_image(path)


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.png"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ImageDecodeError, match="unknown file signature"):
        load_image(path)


def test_missing_file(tmp_path):
    with pytest.raises(ImageDecodeError, match="file not found"):
        load_image(tmp_path / "gone.png")


def test_decompression_bomb_guard(tmp_path):
    path = write_image(tmp_path / "big.png", size=(300, 200))
    with pytest.raises(
        ImageDecodeError, match=r"too many pixels \(300x200 = 60,000 > max_pixels=50,000\)"
    ):
        load_image(path, max_pixels=50_000)
    _check(load_image(path, max_pixels=60_000), (200, 300))
    with pytest.raises(ValueError, match="Received: max_pixels=0"):
        load_image(path, max_pixels=0)


def test_unsupported_mode_is_named():
    class Odd:
        mode = "XYZ;9"

    with pytest.raises(ImageDecodeError, match=r"unsupported image mode 'XYZ;9'"):
        to_rgb_array(Odd(), "odd.img")


def test_draft_decodes_jpeg_smaller_but_covering(tmp_path):
    path = tmp_path / "big.jpg"
    Image.fromarray(np.zeros((640, 480, 3), np.uint8)).save(path)
    assert load_image(path).shape == (640, 480, 3)
    small = load_image(path, draft=224)
    assert small.shape == (320, 240, 3)  # 1/2 scale still covers 224 on both sides


# ---- DICOM -----------------------------------------------------------------------------


def _dicom(path, pixels, photometric="MONOCHROME2", **extra):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    for k, v in extra.items():
        setattr(ds, k, v)
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


PIX = np.array([[0, 1000], [2000, 4000]])


def test_dicom_monochrome2_and_monochrome1(tmp_path):
    pytest.importorskip("pydicom")
    img = load_image(_dicom(tmp_path / "a.dcm", PIX))
    _check(img, (2, 2))
    assert img[..., 0].tolist() == [[0, 64], [128, 255]]
    inv = load_image(_dicom(tmp_path / "b.dcm", PIX, "MONOCHROME1"))
    assert inv[..., 0].tolist() == [[255, 191], [127, 0]]


def test_dicom_rescale_and_window(tmp_path):
    pytest.importorskip("pydicom")
    # HU = 2 * raw - 1000; file window 0 +- 500 HU covers raw 250..750
    path = _dicom(
        tmp_path / "IM0001",
        np.array([[0, 250], [500, 750]]),
        RescaleSlope=2,
        RescaleIntercept=-1000,
        WindowCenter=0,
        WindowWidth=1000,
    )
    assert load_image(path)[..., 0].tolist() == [[0, 0], [128, 255]]
    img = load_image(path, dicom_window=(-500, 1000))  # explicit window wins
    assert img[..., 0].tolist() == [[0, 128], [255, 255]]


def test_dicom_needs_pydicom(tmp_path, monkeypatch):
    path = tmp_path / "x.dcm"
    path.write_bytes(b"\0" * 128 + b"DICM" + b"\0" * 64)
    monkeypatch.setitem(sys.modules, "pydicom", None)  # import pydicom -> ImportError
    with pytest.raises(MissingExtraError, match=r"pip install 'fracturenet\[dicom\]'"):
        load_image(path)


def test_broken_dicom(tmp_path):
    pytest.importorskip("pydicom")
    path = tmp_path / "x.dcm"
    path.write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00")
    with pytest.raises(ImageDecodeError, match=r"x.dcm.*(not a readable DICOM|no pixel data)"):
        load_image(path)
