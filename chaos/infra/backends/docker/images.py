"""The images the docker backend and the compose stack run, built from the project's own Dockerfiles.

Every Dockerfile takes its base as a build argument (``BASE``). By default the bases are the usual
public ones, for machines that can pull from a registry. ``--offline`` makes them instead from Debian
packages (``mmdebstrap`` into a tarball, ``docker import``), for machines that reach no registry but
a Debian mirror, as the machines this project is built on.

Nothing in a build needs the network (``--network none``): the build contexts are staged here, from
what the local backend already has in its cache (the Kafka jars, the Toxiproxy binary) and, for the
project's own image, wheels made on this host by ``pip wheel``, where the package index is reachable.

A build is skipped when the image already carries the hash of its inputs (label ``evchaos.inputs``):
the Dockerfile, the staged files, the base. So a second ``evchaos images build`` costs a few docker
calls, and any change to an input rebuilds exactly the images it feeds.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from chaos.infra import versions
from chaos.infra.backends.base import say
from chaos.infra.container import docker, docker_cli
from chaos.infra.install import Installation, cache_home, default_installation, install, run_streaming
from chaos.infra.kafka_broker import LOG4J2

REPO_ROOT = Path(__file__).resolve().parents[4]
"""Where the Dockerfiles are (chaos/infra/backends/docker/ is four levels down)."""
INPUTS_LABEL = "evchaos.inputs"
OFFICIAL_KAFKA_IMAGE = f"apache/kafka:{versions.KAFKA_VERSION}"
"""The default Kafka image where a registry can be reached; ``KAFKA_IMAGE`` is built from our jars."""
TOXIPROXY_IMAGE = f"evchaos/toxiproxy:{versions.TOXIPROXY_VERSION.lstrip('v')}"
KAFKA_IMAGE = f"evchaos/kafka:{versions.KAFKA_VERSION}"


class ImageError(RuntimeError):
    """An image could not be built, or is missing where it is needed; the message says what to run."""


@dataclass(frozen=True)
class Base:
    """A base image: the public one, and the one ``--offline`` makes from these Debian packages."""

    public: str
    offline: str
    packages: tuple[str, ...]


DEBIAN = Base("debian:bookworm-slim", "evchaos/base:bookworm", ("ca-certificates",))
JAVA = Base("eclipse-temurin:17-jre", "evchaos/base-java:bookworm", ("ca-certificates", "openjdk-17-jre-headless"))
PYTHON = Base("python:3.11-slim", "evchaos/base-python:bookworm", ("ca-certificates", "python3", "python3-venv"))


@dataclass(frozen=True)
class Image:
    """One image: its tag, its Dockerfile, its base, and what fills its build context."""

    name: str
    tag: str
    dockerfile: str
    base: Base
    stage: Callable[[Path], None]
    """Fills an empty context folder with the files the Dockerfile copies."""
    inputs: Callable[[], list[str | Path]]
    """What the staged files are made from: unchanged inputs, no build (and no staging)."""


def _link_tree(source: Path, target: Path) -> None:
    """Hard links where the file system allows (the jars are 43 MB), copies elsewhere."""
    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=link)


def _stage_kafka(context: Path, inst: Installation) -> None:
    _link_tree(inst.kafka_libs, context / "libs")
    shutil.copy2(REPO_ROOT / "docker" / "kafka" / "launch.sh", context / "launch.sh")
    (context / "log4j2.properties").write_text(LOG4J2)


def _stage_toxiproxy(context: Path, inst: Installation) -> None:
    shutil.copy2(inst.toxiproxy_bin, context / "toxiproxy-server")


SYSTEM_EXTRA = "system"
"""The extra that brings the system's own dependencies (its Kafka client): the project's image runs it."""


def project_name() -> str:
    """The distribution's name, from pyproject.toml (the project's image is tagged after it)."""
    match = re.search(r'^name\s*=\s*"([^"]+)"', (REPO_ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    if match is None:
        raise ImageError(f"no project name in {REPO_ROOT / 'pyproject.toml'}")
    return match.group(1)


def _stage_project(context: Path) -> None:
    """This project's wheel and every dependency's, made here, where the package index is reachable.

    The wheel is made from a copy of exactly the files its hash covers (``_sources``): built in the
    checkout itself, setuptools would reuse its ``build/`` folder, where a module deleted since the
    last build still lies and would go into the image."""
    tree = context.parent / "source"
    for source in [*_sources(), REPO_ROOT / "README.md"]:
        target = tree / Path(source).relative_to(REPO_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        if Path(source).is_dir():  # not a git checkout: _sources names whole folders
            shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    wheels = context / "wheels"
    run_streaming([sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheels),
                   f"{tree}[{SYSTEM_EXTRA}]"], dict(os.environ), re.compile(r"ERROR|error:"), "pip wheel")
    (wheels / "PROJECT").write_text(f"{project_name()}[{SYSTEM_EXTRA}]")


def catalogue(inst: Installation | None = None) -> dict[str, Image]:
    """Every image the project builds, by name."""
    inst = inst or default_installation()
    return {
        "toxiproxy": Image("toxiproxy", TOXIPROXY_IMAGE, "docker/toxiproxy/Dockerfile", DEBIAN,
                           lambda ctx: _stage_toxiproxy(ctx, inst), lambda: [inst.toxiproxy_bin]),
        "kafka": Image("kafka", KAFKA_IMAGE, "docker/kafka/Dockerfile", JAVA, lambda ctx: _stage_kafka(ctx, inst),
                       lambda: [inst.kafka_libs, REPO_ROOT / "docker" / "kafka" / "launch.sh", LOG4J2]),
        "project": Image("project", f"{project_name()}:local", "Dockerfile", PYTHON, _stage_project, _sources),
    }


# -- what the engine has --------------------------------------------------------------------------
def _inspect(tag: str, template: str) -> str | None:
    """One field of an image (a Go template of ``docker image inspect``); None: the engine has no such image."""
    done = docker("image", "inspect", "--format", template, tag, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def image_label(tag: str) -> str | None:
    """The inputs hash an image was built from; None when the engine has no such image."""
    return _inspect(tag, f'{{{{index .Config.Labels "{INPUTS_LABEL}"}}}}')


def has_image(tag: str) -> bool:
    return image_label(tag) is not None


def _digest(parts: Iterable[str | Path]) -> str:
    """A hash of strings and files (folders: every file under them, by relative path, size and content)."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, str):
            h.update(part.encode() + b"\0")
            continue
        files = sorted(p for p in part.rglob("*") if p.is_file()) if part.is_dir() else [part]
        for path in files:
            name = path.relative_to(part) if part.is_dir() else _repo_relative(path)
            h.update(str(name).encode() + b"\0")
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()[:16]


def _repo_relative(path: Path) -> Path:
    """A file's name as the hash sees it: its place in the repository (the same in every clone)."""
    return path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else Path(path.name)


def images_offline() -> bool:
    """``EVCHAOS_IMAGES``: ``offline`` (bases from Debian packages) or ``public`` (pulled); by default
    offline where mmdebstrap is installed (``evchaos engine up --install`` installs it), else public."""
    mode = os.environ.get("EVCHAOS_IMAGES", "")
    if mode not in ("", "offline", "public"):
        raise ImageError(f"EVCHAOS_IMAGES must be offline or public, not {mode!r}")
    return mode == "offline" or (not mode and shutil.which("mmdebstrap") is not None)


# -- bases ----------------------------------------------------------------------------------------
def debian_suite() -> str:
    """This host's Debian release (its mirror is the one reachable here), e.g. ``bookworm``."""
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        text = ""
    match = re.search(r"^VERSION_CODENAME=(\w+)", text, re.MULTILINE)
    return match.group(1) if match else "bookworm"


def make_base(base: Base) -> str:
    """The offline base image, from Debian packages; reused while its package list is unchanged."""
    suite = debian_suite()
    inputs = _digest([suite, *base.packages])
    if image_label(base.offline) == inputs:
        return base.offline
    tool = shutil.which("mmdebstrap")
    if tool is None:
        raise ImageError("--offline makes its base images with mmdebstrap, which is not installed "
                         "(Debian: apt-get install mmdebstrap)")
    say(f"making {base.offline} from Debian {suite} packages: {', '.join(base.packages)}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=_scratch()) as tmp:
        tarball = Path(tmp) / "rootfs.tar"
        run_streaming([tool, "--variant=minbase", f"--include={','.join(base.packages)}", suite, str(tarball)],
                      dict(os.environ), re.compile(r"^I: (retrieving|extracting|installing|running|creating)"),
                      "mmdebstrap")
        docker("import", "--change", f"LABEL {INPUTS_LABEL}={inputs}", "--change", f"ENV PATH={_PATH}",
               str(tarball), base.offline, timeout=600)
    say(f"{base.offline} ready ({time.monotonic() - started:.0f}s)")
    return base.offline


_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _scratch() -> Path:
    folder = cache_home() / "images"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# -- images ---------------------------------------------------------------------------------------
def build(image: Image, offline: bool) -> str:
    """Build one image (or find it up to date); returns its tag."""
    base = make_base(image.base) if offline else image.base.public
    dockerfile = REPO_ROOT / image.dockerfile
    inputs = _digest([base, _inspect(base, "{{.Id}}") or "(pulled at build time)", dockerfile, *image.inputs()])
    if image_label(image.tag) == inputs:
        say(f"{image.tag} is up to date")
        return image.tag
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=_scratch()) as tmp:
        context = Path(tmp) / "context"
        context.mkdir()
        say(f"building {image.tag} from {image.dockerfile} on {base}: staging its context")
        image.stage(context)
        argv = [docker_cli(), "build", "--network", "none", "--file", str(dockerfile), "--tag", image.tag,
                "--build-arg", f"BASE={base}", "--label", f"{INPUTS_LABEL}={inputs}", str(context)]
        env = {**os.environ, "DOCKER_BUILDKIT": "0"}  # the builder every engine has: no buildx needed
        try:
            run_streaming(argv, env, re.compile(r"^Step \d+/\d+|^Successfully"), f"build {image.name}")
        except RuntimeError as exc:
            raise ImageError(str(exc)) from None
    say(f"{image.tag} built ({time.monotonic() - started:.0f}s)")
    return image.tag


def _sources() -> list[str | Path]:
    """The files under the project's packages that git tracks or would (what its wheel is made of):
    a module just written and not committed yet is in, one ignored (caches, builds) is not."""
    done = subprocess.run(["git", "-C", str(REPO_ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard",
                           "--", "pyproject.toml", "system", "chaos"], capture_output=True, timeout=30)
    if done.returncode != 0:  # not a git checkout: hash the folders themselves
        return [REPO_ROOT / "pyproject.toml", REPO_ROOT / "system", REPO_ROOT / "chaos"]
    return [REPO_ROOT / name for name in done.stdout.decode().split("\0") if name and (REPO_ROOT / name).is_file()]


def build_all(names: Iterable[str] | None = None, offline: bool = False) -> list[str]:
    """Build the named images (all by default), installing the jars and Toxiproxy first if missing."""
    inst = install()
    images = catalogue(inst)
    chosen = list(names or images)
    unknown = [n for n in chosen if n not in images]
    if unknown:
        raise ImageError(f"unknown image(s) {', '.join(unknown)}; choose from {', '.join(images)}")
    return [build(images[name], offline) for name in chosen]
