"""DICOM radiographs to ``HxWx3`` ``uint8`` RGB, through the optional ``dicom`` extra (pydicom).

Steps, in the order DICOM PS3.4 applies them: modality LUT (rescale slope/intercept), VOI
(the ``window`` argument when given, else the file's first window center/width, else its
VOI LUT sequence, else the image's own min..max), scaling to 0..255, and inversion of ``MONOCHROME1`` images (where
low values are bright) so bone is always bright.
"""

from __future__ import annotations

import os

import numpy as np

from fracturenet.exceptions import ImageDecodeError, MissingExtraError

__all__ = ["load_dicom"]


def _import_pydicom():
    try:
        import pydicom
        from pydicom import pixels
    except ImportError as e:  # pydicom < 3 has no pydicom.pixels either
        raise MissingExtraError("pydicom", "dicom", "Reading DICOM files") from e
    return pydicom, pixels


def _to_uint8(arr: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if hi <= lo:
        return np.zeros(arr.shape, np.uint8)
    out = (np.clip(arr, lo, hi) - lo) * (255.0 / (hi - lo))
    return np.round(out).astype(np.uint8)


def _first(value) -> float:
    # WindowCenter/WindowWidth may be multi-valued (several presets); the first is primary.
    try:
        return float(value[0])
    except TypeError:
        return float(value)


def load_dicom(
    path: str | os.PathLike[str],
    *,
    window: tuple[float, float] | None = None,
    max_pixels: int | None = None,
) -> np.ndarray:
    """Reads a DICOM image (first frame) as an ``HxWx3`` ``uint8`` RGB array.

    Args:
        path: DICOM file.
        window: ``(center, width)`` in modality units (e.g. Hounsfield units after rescale)
            overriding the file's VOI LUT and window. Defaults to `None`.
        max_pixels: Largest accepted ``rows * columns``; `None` means no limit.
            Defaults to `None`.

    Returns:
        The image as ``uint8`` ``(rows, columns, 3)``; grayscale is repeated on 3 channels.

    Raises:
        MissingExtraError: If pydicom (>= 3) is not installed; carries the pip command.
        ImageDecodeError: If the file is not DICOM, has no or undecodable pixel data, is too
            large, or ``window`` has a non-positive width.

    Example:
        >>> import tempfile, os
        >>> import numpy as np
        >>> from pydicom.dataset import Dataset, FileMetaDataset
        >>> from pydicom.uid import ExplicitVRLittleEndian, generate_uid
        >>> ds = Dataset(); ds.file_meta = FileMetaDataset()
        >>> ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        >>> ds.file_meta.MediaStorageSOPClassUID = generate_uid()
        >>> ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        >>> ds.Rows, ds.Columns, ds.SamplesPerPixel = 2, 2, 1
        >>> ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        >>> ds.PhotometricInterpretation = "MONOCHROME2"
        >>> ds.PixelData = np.array([[0, 1000], [2000, 4000]], np.uint16).tobytes()
        >>> p = os.path.join(tempfile.mkdtemp(), "x.dcm")
        >>> ds.save_as(p, enforce_file_format=True)
        >>> load_dicom(p)[..., 0].tolist()
        [[0, 64], [128, 255]]
    """
    pydicom, pixels = _import_pydicom()
    path = os.fspath(path)
    try:
        ds = pydicom.dcmread(path)
    except Exception as e:  # pydicom raises InvalidDicomError, EOFError, ValueError, ...
        raise ImageDecodeError(path, f"not a readable DICOM file ({type(e).__name__}: {e})") from e
    if "PixelData" not in ds:
        raise ImageDecodeError(path, "DICOM file has no pixel data (not an image object)")
    rows, cols = int(ds.get("Rows", 0)), int(ds.get("Columns", 0))
    if max_pixels is not None and rows * cols > max_pixels:
        raise ImageDecodeError(
            path,
            f"too many pixels ({cols}x{rows} = {rows * cols:,} > max_pixels={max_pixels:,}); "
            "raise max_pixels if the image is genuine",
        )
    try:
        arr = ds.pixel_array
    except Exception as e:  # missing codec plugins raise RuntimeError/NotImplementedError
        tsuid = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "unknown")
        raise ImageDecodeError(
            path,
            f"DICOM pixel data cannot be decoded (transfer syntax {tsuid}: {e}); compressed "
            "DICOM may need 'pip install pylibjpeg pylibjpeg-libjpeg' or gdcm",
        ) from e
    samples = int(ds.get("SamplesPerPixel", 1))
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        arr = arr[0]
    if samples == 3:
        if str(ds.get("PhotometricInterpretation", "")).startswith("YBR"):
            arr = pixels.convert_color_space(arr, ds.PhotometricInterpretation, "RGB")
        if arr.dtype != np.uint8:
            arr = _to_uint8(arr.astype(np.float64), float(arr.min()), float(arr.max()))
        return np.ascontiguousarray(arr, dtype=np.uint8)
    if arr.ndim != 2:
        raise ImageDecodeError(path, f"unsupported DICOM pixel array shape {arr.shape}")

    values = pixels.apply_modality_lut(arr, ds).astype(np.float64)
    if window is None and "WindowCenter" in ds and "WindowWidth" in ds:
        window = (_first(ds.WindowCenter), _first(ds.WindowWidth))
    if window is not None:
        center, width = (float(v) for v in window)
        if width <= 0:
            raise ImageDecodeError(
                path, f"DICOM window width must be positive. Received: dicom_window={window}"
            )
        out = _to_uint8(values, center - width / 2.0, center + width / 2.0)
    else:
        if "VOILUTSequence" in ds:
            values = pixels.apply_voi_lut(values, ds).astype(np.float64)
        out = _to_uint8(values, float(values.min()), float(values.max()))
    if str(ds.get("PhotometricInterpretation", "")).upper() == "MONOCHROME1":
        out = 255 - out
    return np.ascontiguousarray(np.repeat(out[:, :, None], 3, axis=2))
