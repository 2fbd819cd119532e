"""Packaging: a read-only install imports and runs without failing or warning (numba's cache goes to a
user folder), the declared support in pyproject.toml, and setup.py's compiler flags per platform."""
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import fastnn
from fastnn import _cache, _config
from fastnn.cli import main

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(fastnn.__file__).resolve().parent

KERNEL = """
import os, sys, warnings
warnings.simplefilter("always")
import numpy as np
import fastnn
from fastnn import _cache
net = fastnn.TwoLayerNet(4, 3, 2, backend="numba", seed=0)
x = np.random.default_rng(0).random((5, 4)); t = np.array([0, 1, 0, 1, 1])
g = net.gradient(x, t)  # a cached numba kernel (the backprop; the numerical gradient takes longer to compile)
ref = fastnn.TwoLayerNet(4, 3, 2, backend="numpy", seed=0).gradient(x, t)
assert all(np.allclose(g[k], ref[k], rtol=1e-6, atol=1e-9) for k in ref), "numba kernel disagrees"
print("CACHE", _cache.numba_cache[0])
print("FILE", fastnn.__file__)
"""


def _install_copy(site):
    """The package as an install would lay it out (sources and the compiled extension, no caches)."""
    shutil.copytree(PACKAGE, site / "fastnn", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def _run_read_only(site, home, tmp):
    """Run KERNEL with site (and home, when inside it) read-only: a private read-only bind mount when root
    (root ignores permission bits), else chmod. Returns the CompletedProcess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "FASTNN_CACHE", "XDG_"))}
    env.update(PYTHONPATH=str(site), HOME=str(home), TMPDIR=str(tmp), PYTHONDONTWRITEBYTECODE="1")
    code = [sys.executable, "-W", "always", "-c", KERNEL]
    if os.geteuid() == 0:
        if not shutil.which("unshare"):
            pytest.skip("running as root without unshare: cannot make a folder read-only for root")
        probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount --bind {site} {site} && "
                                f"mount -o remount,ro,bind {site} {site} && ! touch {site}/probe 2>/dev/null"],
                               capture_output=True)
        if probe.returncode:
            pytest.skip("root cannot make a private read-only mount here (unshare -m needs CAP_SYS_ADMIN)")
        script = f"mount --bind {site} {site} && mount -o remount,ro,bind {site} {site} && exec \"$@\""
        return subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", *code], env=env, capture_output=True,
                              text=True, cwd=str(tmp), timeout=600)
    for path in sorted(site.rglob("*"), reverse=True) + [site]:
        path.chmod(path.stat().st_mode & ~0o222)
    try:
        return subprocess.run(code, env=env, capture_output=True, text=True, cwd=str(tmp), timeout=600)
    finally:
        for path in [site] + sorted(site.rglob("*")):
            path.chmod(path.stat().st_mode | 0o200)


def _check_clean_run(result, site):
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Warning" not in result.stderr and "cannot cache" not in result.stderr, result.stderr[-3000:]
    assert f"FILE {site / 'fastnn' / '__init__.py'}" in result.stdout
    return result.stdout.split("CACHE ")[1].split("\n")[0]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions and mounts")
def test_read_only_install_caches_kernels_in_the_user_cache(tmp_path):
    site, home, tmp = tmp_path / "site", tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    _install_copy(site)
    for attempt in range(2):  # the second run loads the kernels the first one cached, still silently
        cache = _check_clean_run(_run_read_only(site, home, tmp), site)
        assert cache == str(home / ".cache" / "fastnn" / "numba")
        assert any(p.suffix == ".nbi" for p in (home / ".cache" / "fastnn" / "numba").rglob("*"))
    assert not (site / "fastnn" / "__pycache__").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions and mounts")
def test_read_only_install_and_read_only_home_still_import_and_run(tmp_path):
    """Before fastnn chose the folder, numba failed at import here ("no locator available")."""
    site, tmp = tmp_path / "site", tmp_path / "tmp"
    tmp.mkdir()
    _install_copy(site)
    home = site / "home"  # inside the read-only tree
    home.mkdir()
    cache = _check_clean_run(_run_read_only(site, home, tmp), site)
    assert cache.startswith(str(tmp)) and cache.endswith("numba")


def test_cache_folder_choice(tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("")  # nothing can be created under a regular file, even by root
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(_cache, "numba_cache", _cache.numba_cache)
    from numba.core import config
    monkeypatch.setattr(config, "CACHE_DIR", config.CACHE_DIR)
    assert _cache.configure_numba_cache(str(tmp_path / "pkg")) == (str(tmp_path / "pkg" / "__pycache__"),
                                                                   "beside the package, numba's default")
    monkeypatch.setenv("FASTNN_CACHE_DIR", str(tmp_path / "user"))
    folder, why = _cache.configure_numba_cache(str(blocked / "pkg"))
    assert folder == str(tmp_path / "user" / "numba") and os.environ["NUMBA_CACHE_DIR"] == folder
    assert "read-only" in why
    assert config.CACHE_DIR == folder  # numba was already loaded: its live configuration follows
    monkeypatch.setenv("NUMBA_CACHE_DIR", "/somewhere/of/mine")
    assert _cache.configure_numba_cache(str(blocked / "pkg"))[0] == "/somewhere/of/mine"
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    monkeypatch.setenv("FASTNN_CACHE_DIR", str(blocked / "user"))
    monkeypatch.setattr(tempfile, "tempdir", str(blocked / "tmp"))
    monkeypatch.setitem(_config.NUMBA_OPTIONS, "cache", True)
    monkeypatch.setitem(_config.NUMBA_PARALLEL_OPTIONS, "cache", True)
    folder, why = _cache.configure_numba_cache(str(blocked / "pkg"))
    assert folder is None and "not cached" in why
    assert _config.NUMBA_OPTIONS["cache"] is False and _config.NUMBA_PARALLEL_OPTIONS["cache"] is False


def test_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("FASTNN_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _cache.cache_root() == str(tmp_path / "xdg" / "fastnn")
    monkeypatch.setenv("FASTNN_CACHE_DIR", str(tmp_path / "mine"))
    assert _cache.cache_root() == str(tmp_path / "mine")
    monkeypatch.delenv("FASTNN_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert _cache.cache_root() == str(tmp_path / "h" / ".cache" / "fastnn")


def test_info_says_where_the_caches_are(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"numba cache: {_cache.numba_cache[0]}" in out and f"data cache: {_cache.cache_root()}" in out


# --- declared support and build configuration ----------------------------------------------------------

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")


@pytest.fixture(scope="module")
def pyproject():
    path = ROOT / "pyproject.toml"
    if not path.exists():
        pytest.skip("pyproject.toml is not beside the tests (installed package)")
    return tomllib.loads(path.read_text())


def test_declared_support(pyproject):
    project = pyproject["project"]
    assert project["requires-python"] == ">=3.10"
    assert "numpy>=1.26,<3" in project["dependencies"]
    classifiers = set(project["classifiers"])
    for version in ("3.10", "3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in classifiers
    assert {"Operating System :: POSIX :: Linux", "Operating System :: MacOS",
            "Operating System :: Microsoft :: Windows"} <= classifiers
    assert "fastnn.datasets" in pyproject["tool"]["setuptools"]["packages"]


def test_cibuildwheel_builds_portable_wheels_and_tests_them(pyproject):
    cibw = pyproject["tool"]["cibuildwheel"]
    assert cibw["environment"]["FASTNN_PORTABLE_BUILD"] == "1"
    assert cibw["test-environment"]["FASTNN_REQUIRE_EXTENSION"] == "1" and "pytest" in cibw["test-command"]
    assert set(cibw["linux"]["archs"]) == {"x86_64", "aarch64"}
    macos = cibw["macos"]["environment"]
    assert macos["FASTNN_PORTABLE_BUILD"] == "1" and macos["FASTNN_NO_OPENMP"] == "1"
    assert cibw["windows"]["archs"] == ["AMD64"]


def test_sdist_manifest_ships_what_the_tests_need():
    manifest = (ROOT / "MANIFEST.in")
    if not manifest.exists():
        pytest.skip("MANIFEST.in is not beside the tests")
    text = manifest.read_text()
    for needed in ("recursive-include tests *.py", "src_cython/*.pyx", "src_cython/*.h", "README.md",
                   "recursive-include examples *.py"):
        assert needed in text


@pytest.fixture(scope="module")
def setup_py():
    if not (ROOT / "setup.py").exists():
        pytest.skip("setup.py is not beside the tests")
    pytest.importorskip("Cython", reason="setup.py imports Cython")
    return lambda: runpy.run_path(str(ROOT / "setup.py"), run_name="setup_flags")  # not __main__: no build


@pytest.mark.parametrize("portable", ["1", ""])
def test_setup_flags_per_platform(setup_py, monkeypatch, portable):
    monkeypatch.setenv("FASTNN_PORTABLE_BUILD", portable)
    monkeypatch.delenv("FASTNN_NO_OPENMP", raising=False)
    flags = setup_py()
    compile_args, link_args = flags["msvc_flags"]()
    assert compile_args == ["/O2", "/openmp"] and link_args == []
    assert not any(a.startswith(("-", "/arch")) for a in compile_args)
    arch = flags["arch_flags"]()
    assert arch == [] if portable else arch in ([], ["-march=native"])
    for ext in flags["extensions"]:
        assert "-march=native" not in ext.extra_compile_args or not portable
    monkeypatch.setenv("FASTNN_NO_OPENMP", "1")
    with pytest.warns(UserWarning, match="without OpenMP"):
        assert setup_py()["msvc_flags"]() == (["/O2"], [])


def test_setup_builds_every_extension_in_each_isa_variant(setup_py, monkeypatch):
    """Every extension in the baseline (no -march at all) and, on x86-64 with GCC/Clang, as x86-64-v3/v4
    variants of their own names (fastnn._mlp_v3); never -march=native. The debug build: the baseline only."""
    monkeypatch.delenv("FASTNN_DEBUG_BUILD", raising=False)
    flags = setup_py()
    variants = flags["isa_variants"]()
    assert variants[0] == ("", [])
    assert set(s for s, _ in variants) <= {"", "_v3", "_v4"}
    names = {ext.name: ext for ext in flags["extensions"]}
    assert set(names) == {f"fastnn.{n}{s}" for s, _ in variants for n in flags["EXTENSION_NAMES"]}
    for suffix, isa in variants:
        for n in flags["EXTENSION_NAMES"]:
            args = names[f"fastnn.{n}{suffix}"].extra_compile_args
            assert [a for a in args if a.startswith("-march")] == isa
            source = names[f"fastnn.{n}{suffix}"].sources[0]
            assert os.path.basename(source) == f"{n}{suffix}.pyx"  # Cython names PyInit after the file
            assert (ROOT / source).read_bytes() == (ROOT / "src_cython" / f"{n}.pyx").read_bytes()
    if flags["_targets_x86_64"]() and sys.platform != "win32" and flags["_compiles"](["-march=x86-64-v4"]):
        assert [s for s, _ in variants] == ["", "_v3", "_v4"]
    monkeypatch.setenv("FASTNN_DEBUG_BUILD", "1")
    assert [s for s, _ in setup_py()["isa_variants"]()] == [""]
