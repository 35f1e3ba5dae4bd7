"""Reading a pickle or joblib file WITHOUT running it, to validate and describe a model.

Registration must be fast (no scikit-learn import, which alone takes seconds) and must
not execute the artifact's code. So the file is unpickled with every global replaced by
an inert stand-in class, except numpy's array and dtype constructors and a few builtins,
which rebuild data only. The result tells us whether the file is a complete, well-formed
pickle, which classes and packages it needs, and, for scikit-learn estimators, their
feature names, classes and task. Loading for real happens in ``loading.py``.

joblib files are a pickle stream with raw array bytes written between opcodes (after each
``NumpyArrayWrapper``), optionally compressed as a whole; they are read with the
pure-Python unpickler and a BUILD hook, as joblib itself does.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import pickle
import zlib

_JOBLIB_WRAPPERS = {("joblib.numpy_pickle", "NumpyArrayWrapper")}
_JOBLIB_LEGACY = {("joblib.numpy_pickle", "NDArrayWrapper"), ("joblib.numpy_pickle_compat", "NDArrayWrapper"),
                  ("joblib.numpy_pickle_compat", "ZNDArrayWrapper")}
_BUILTINS = {"object", "list", "dict", "set", "frozenset", "tuple", "bytearray", "complex", "slice",
             "range", "bytes", "str", "int", "float", "bool"}
_SMALL_ARRAY = 1 << 20  # bigger joblib arrays are skipped, not built: only metadata matters here


class NotAPickle(Exception):
    """The file is not a complete, well-formed pickle or joblib file."""


class LegacyJoblib(NotAPickle):
    pass


class Stub:
    """An inert stand-in for any class a pickle names; it records what it is given."""

    _module = ""
    _qualname = ""
    _args: tuple = ()
    _state = None

    def __init__(self, *args, **kwargs):
        self._args = args
        self._items: list = []

    def __setstate__(self, state):
        self._state = state

    def __setitem__(self, key, value):
        self.__dict__.setdefault("_items", []).append((key, value))

    def append(self, value):
        self.__dict__.setdefault("_items", []).append(value)

    def extend(self, values):
        for value in values:
            self.append(value)

    @classmethod
    def class_path(cls) -> str:
        return f"{cls._module}.{cls._qualname}"


class JoblibWrapper(Stub):
    pass


class _Globals:
    """find_class for both unpicklers: stand-ins for everything but data constructors."""

    def __init__(self):
        self.classes: dict[tuple[str, str], type] = {}
        self.modules: set[str] = set()
        self.joblib = False

    def find(self, module: str, name: str):
        if (module, name) in _JOBLIB_LEGACY:
            raise LegacyJoblib("written by joblib < 0.10 (arrays in separate files)")
        if (module, name) in _JOBLIB_WRAPPERS:
            self.joblib = True
            return self._stub(module, name, JoblibWrapper)
        real = _safe_global(module, name)
        if real is not None:
            return real
        self.modules.add(module)
        return self._stub(module, name, Stub)

    def _stub(self, module: str, name: str, base: type) -> type:
        key = (module, name)
        if key not in self.classes:
            self.classes[key] = type(name.rsplit(".", 1)[-1], (base,), {"_module": module, "_qualname": name})
        return self.classes[key]


def _safe_global(module: str, name: str):
    if module == "builtins" and name in _BUILTINS:
        import builtins

        return getattr(builtins, name)
    if (module, name) == ("copyreg", "_reconstructor"):
        import copyreg

        return copyreg._reconstructor
    if (module, name) == ("_codecs", "encode"):
        import codecs

        return codecs.encode
    if (module, name) == ("collections", "OrderedDict"):
        import collections

        return collections.OrderedDict
    if module in ("numpy", "numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric",
                  "numpy._core.numeric"):
        return _numpy_global(name)
    return None


def _numpy_global(name: str):
    import numpy

    if name == "_reconstruct":
        return _reconstruct
    if name in ("ndarray", "dtype"):
        return getattr(numpy, name)
    if name == "scalar":
        return _scalar
    if name == "_frombuffer":
        return _frombuffer
    return None


def _reconstruct(subtype, shape, dtype):
    import numpy

    if not (isinstance(subtype, type) and issubclass(subtype, numpy.ndarray)) or not isinstance(dtype, (str, bytes, numpy.dtype)):
        return Stub(subtype, shape, dtype)
    return numpy.ndarray.__new__(subtype, shape, dtype)


def _scalar(dtype, data=None):
    import numpy

    if not isinstance(dtype, numpy.dtype) or dtype.hasobject or not isinstance(data, bytes):
        return Stub(dtype, data)
    return numpy.frombuffer(data, dtype=dtype, count=1)[0]


def _frombuffer(buf, dtype, shape, order):
    import numpy

    if not isinstance(dtype, numpy.dtype) or dtype.hasobject:
        return Stub(buf, dtype, shape, order)
    return numpy.frombuffer(bytes(buf), dtype=dtype).reshape(shape, order=order)


class _CUnpickler(pickle.Unpickler):
    def __init__(self, file, globals_: _Globals):
        super().__init__(file)
        self._globals = globals_

    def find_class(self, module, name):
        return self._globals.find(module, name)


class _JoblibUnpickler(pickle._Unpickler):
    """The pure-Python unpickler, whose BUILD can read joblib's inline array bytes."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, globals_: _Globals):
        super().__init__(file)
        self._raw = file
        self._globals = globals_

    def find_class(self, module, name):
        return self._globals.find(module, name)

    def load_build(self):
        pickle._Unpickler.load_build(self)
        if isinstance(self.stack[-1], JoblibWrapper):
            wrapper = self.stack.pop()
            self.stack.append(self._read_array(wrapper))

    dispatch[pickle.BUILD[0]] = load_build

    def _read_array(self, wrapper: JoblibWrapper):
        import numpy

        state = wrapper._state if isinstance(wrapper._state, dict) else {}
        dtype, shape = state.get("dtype"), tuple(state.get("shape") or ())
        if not isinstance(dtype, numpy.dtype):
            raise NotAPickle("joblib array without a dtype")
        if dtype.hasobject:
            return _JoblibUnpickler(self._raw, self._globals).load()
        if state.get("numpy_array_alignment_bytes") is not None:
            padding = self._raw.read(1)
            if len(padding) != 1:
                raise NotAPickle("file ends inside an array")
            _read_exact(self._raw, padding[0])
        count = 1
        for dim in shape:
            count *= int(dim)
        nbytes = count * dtype.itemsize
        if nbytes > _SMALL_ARRAY:
            _read_exact(self._raw, nbytes)
            return Stub(shape, dtype)
        data = _read_exact(self._raw, nbytes)
        order = "F" if state.get("order") == "F" else "C"
        return numpy.frombuffer(data, dtype=dtype).reshape(shape, order=order)


def _read_exact(f, n: int) -> bytes:
    chunks, left = [], n
    while left > 0:
        chunk = f.read(min(left, 1 << 22))
        if not chunk:
            raise NotAPickle("file ends inside an array")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# -- compression (joblib's compress=...) ---------------------------------------------------
def _open_decompressed(path) -> tuple[io.BufferedIOBase, str | None]:
    """The file as a stream of pickle bytes. Each decompressor opens the file by its path,
    so closing it closes the file (given an open file object, gzip, bz2 and lzma leave it open)."""
    with open(path, "rb") as f:
        head = f.read(6)
    if head.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(path, "rb"), "gzip"
    if head.startswith(b"BZh"):
        return bz2.BZ2File(path, "rb"), "bz2"
    if head.startswith(b"\xfd7zXZ") or head.startswith(b"]\x00\x00"):
        return lzma.LZMAFile(path, "rb"), "lzma"
    if head[:1] == b"\x78" and head[1:2] in (b"\x01", b"\x5e", b"\x9c", b"\xda"):
        return io.BufferedReader(_ZlibReader(open(path, "rb"))), "zlib"
    if head.startswith(b"\x04\x22\x4d\x18"):
        raise NotAPickle("lz4-compressed joblib files are not supported; save with compress=('zlib', 3) or none")
    return open(path, "rb"), None


class _ZlibReader(io.RawIOBase):
    def __init__(self, f):
        self._f, self._z, self._buf = f, zlib.decompressobj(), b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self._buf:
            chunk = self._f.read(1 << 16)
            if not chunk:
                if not self._z.eof:  # zlib's end marker and checksum never came
                    raise NotAPickle("the compressed stream is truncated")
                break
            self._buf = self._z.decompress(chunk)
        n = min(len(b), len(self._buf))
        b[:n], self._buf = self._buf[:n], self._buf[n:]
        return n

    def close(self) -> None:
        self._f.close()
        super().close()


# -- entry point ---------------------------------------------------------------------------
class Inspected:
    """What the file holds: its top object (stand-ins inside), format, needed modules."""

    def __init__(self, obj, fmt: str, compression: str | None, modules: set[str]):
        self.obj, self.format, self.compression, self.modules = obj, fmt, compression, modules


def inspect_file(path) -> Inspected:
    """Unpickle ``path`` inertly; NotAPickle when it is not a complete pickle/joblib file."""
    try:
        return _inspect(path, joblib=False)
    except _NeedJoblib:
        return _inspect(path, joblib=True)


class _NeedJoblib(Exception):
    pass


def _inspect(path, joblib: bool) -> Inspected:
    globals_ = _Globals()
    f, compression = _open_decompressed(path)
    try:
        with f:
            if joblib:
                obj = _JoblibUnpickler(f, globals_).load()
            else:
                obj = _CUnpickler(f, globals_).load()
                if globals_.joblib:
                    raise _NeedJoblib()
            trailing = f.read(1)
    except (_NeedJoblib, NotAPickle):
        raise
    except RecursionError:
        raise NotAPickle("nested too deeply to inspect") from None
    except Exception as exc:  # any failure to parse is a corrupt or foreign file
        if globals_.joblib and not joblib:
            raise _NeedJoblib() from None
        raise NotAPickle(_describe_error(exc)) from None
    if trailing and not joblib and compression is None:
        raise NotAPickle("data after the end of the pickle (truncated or concatenated file?)")
    fmt = "joblib" if (joblib or compression) else "pickle"
    return Inspected(obj, fmt, compression, globals_.modules)


def _describe_error(exc: Exception) -> str:
    if isinstance(exc, EOFError):
        return "the file ends before the pickle does (truncated?)"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
