"""Reading the integer arrays of an untrusted ``.npz`` archive with bounded memory and time.

``np.load`` trusts the archive: it decompresses an entry whole before looking at it (a zip bomb
of a few MB takes GBs), believes an ``.npy`` header's shape (2⁴⁰ elements is a ``MemoryError``)
and lets ``zlib`` and ``zipfile`` errors escape. :func:`read_arrays` checks everything it can
*before* reading data, against :class:`Limits`:

1. the file size, and the ZIP end record (entry count, central-directory size; ZIP64 refused)
   before ``zipfile`` parses the directory, so a directory of a million entries is never built;
2. per entry, from the directory: a name ``<key>.npy`` (unique), stored or deflated (no other
   method, no encryption), a declared size within the entry limit, and the running total of
   declared sizes within the total limit;
3. per entry, the ``.npy`` header alone (format 1.0 or 2.0): a plain numeric dtype (no objects,
   records or strings), and ``header + prod(shape) · itemsize`` equal to the declared size;

and only then reads exactly that many bytes, through ``zipfile``'s bounded decompressor (a
stream that inflates to more than it declares stops at the declared size and fails its CRC).
Every defect is an :class:`ArchiveError` that says what is wrong.
"""

import math
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["ArchiveError", "Limits", "read_arrays"]

_MiB = 1 << 20
_EOCD = b"PK\x05\x06"  # end of central directory record
_ZIP64_LOCATOR = b"PK\x06\x07"
_NAME = re.compile(r"[A-Za-z0-9_.]{1,128}\.npy")
#: kinds of dtype an entry may hold: bool, signed, unsigned, float (never objects or records;
#: which dtype each array must have is the network file's rule)
KINDS = "biuf"


class ArchiveError(ValueError):
    """The archive is damaged, hostile or too large; the message says which and why."""


@dataclass(frozen=True)
class Limits:
    """Bounds checked before any data is decompressed (bytes are uncompressed sizes)."""

    file_bytes: int = 24 * _MiB  #: the archive on disk
    entry_bytes: int = 16 * _MiB  #: one entry
    total_bytes: int = 16 * _MiB  #: all entries together
    entries: int = 256  #: entries in the archive
    directory_bytes: int = 64 * 1024  #: the ZIP central directory


def read_arrays(path, limits: Limits = Limits()) -> dict:
    """``{key: array}`` of the archive at ``path`` (entry ``key.npy``), read within ``limits``."""
    path = Path(path)
    size = path.stat().st_size
    if size > limits.file_bytes:
        raise ArchiveError(f"the file is {size} bytes; a network file holds at most "
                           f"{limits.file_bytes} bytes")
    with open(path, "rb") as handle:
        _check_end_record(handle, size, limits)
        try:
            archive = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError,
                struct.error) as exc:
            raise ArchiveError(f"not a valid ZIP archive ({exc})") from None
        with archive:
            infos = _check_directory(archive.infolist(), limits)
            return {key: _read_entry(archive, info, key) for key, info in infos.items()}


def _check_end_record(handle, size, limits):
    """Entry count and directory size from the end record, as ``zipfile`` will read them."""
    tail_size = min(size, 22 + 0xFFFF)
    handle.seek(size - tail_size)
    tail = handle.read(tail_size)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        raise ArchiveError("not a ZIP archive (no end-of-directory record; truncated?)")
    if at >= 20 and tail[at - 20:at - 16] == _ZIP64_LOCATOR:
        raise ArchiveError("a ZIP64 archive: a network file is never that large")
    entries, directory = struct.unpack("<HI", tail[at + 10:at + 16])
    if entries > limits.entries:
        raise ArchiveError(f"the archive lists {entries} entries; at most {limits.entries} "
                           "are allowed")
    if directory > limits.directory_bytes:
        raise ArchiveError(f"the archive's directory is {directory} bytes; at most "
                           f"{limits.directory_bytes} are allowed")
    handle.seek(0)


def _check_directory(infos, limits) -> dict:
    """``{key: ZipInfo}`` after the checks that need only the directory."""
    if len(infos) > limits.entries:
        raise ArchiveError(f"the archive holds {len(infos)} entries; at most {limits.entries}")
    out, total = {}, 0
    for info in infos:
        name = info.filename
        if not _NAME.fullmatch(name):
            raise ArchiveError(f"entry {name!r} is not a NumPy array (expected '<key>.npy' "
                               "entries as np.savez writes)")
        key = name[:-4]
        if key in out:
            raise ArchiveError(f"entry {name!r} appears twice")
        if info.flag_bits & 0x1:
            raise ArchiveError(f"entry {name!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ArchiveError(f"entry {name!r} uses ZIP compression method "
                               f"{info.compress_type}; only stored (0) and deflated (8) are read")
        if info.file_size > limits.entry_bytes:
            raise ArchiveError(f"entry {name!r} declares {info.file_size} bytes; an entry holds "
                               f"at most {limits.entry_bytes} (refused before decompressing; "
                               "for a file you trust, load_network(path, Limits(...)) raises "
                               "the limits)")
        total += info.file_size
        if total > limits.total_bytes:
            raise ArchiveError(f"the entries declare more than {limits.total_bytes} bytes "
                               "together (refused before decompressing)")
        out[key] = info
    return out


def _read_entry(archive, info, key) -> np.ndarray:
    """The array in one entry: header checked against the declared size, then the data."""
    try:
        with archive.open(info) as stream:
            dtype, shape, fortran, header = _read_header(stream, key)
            if any(d < 0 for d in shape):
                raise ArchiveError(f"entry {key!r}: its header claims shape {shape}")
            nbytes = math.prod(shape) * dtype.itemsize
            if header + nbytes != info.file_size:
                raise ArchiveError(
                    f"entry {key!r}: its header claims shape {shape} of {dtype} "
                    f"({nbytes} bytes) but the entry holds {info.file_size - header} bytes of data")
            data = _read_exactly(stream, nbytes, key)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
            NotImplementedError) as exc:
        raise ArchiveError(f"entry {key!r} is corrupt ({exc})") from None
    array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    return np.ascontiguousarray(array, dtype=dtype.newbyteorder("="))


def _read_header(stream, key):
    """``(dtype, shape, fortran_order, header_bytes)`` from an ``.npy`` header."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(stream, max_header_size=4096)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(stream, max_header_size=4096)
        else:
            raise ValueError(f".npy format {version[0]}.{version[1]} (1.0 or 2.0 expected)")
    except ValueError as exc:
        raise ArchiveError(f"entry {key!r} is not a valid .npy array ({exc})") from None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype or dtype.kind not in KINDS:
        raise ArchiveError(f"entry {key!r} holds {dtype}; entries must be plain numeric arrays "
                           "(integers, as the network file stores them)")
    return dtype, tuple(shape), fortran, stream.tell()


def _read_exactly(stream, nbytes, key) -> bytes:
    data = stream.read(nbytes)
    if len(data) != nbytes or stream.read(1):
        raise ArchiveError(f"entry {key!r} holds other than the {nbytes} bytes its header says")
    return data
