"""``evchaos infra install``: resolve Kafka from Maven Central and build Toxiproxy from its Go module.

Everything lands in one cache outside git (``$EVCHAOS_HOME``, default ``~/.cache/evchaos``), in a
folder named after the pinned versions, with a marker file written last. A second run only looks for
the markers, so it costs milliseconds and never touches the network or starts a JVM.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from chaos.infra import versions

MARKER = ".complete"


class InstallError(RuntimeError):
    """A tool is missing or too old, or a download or build failed."""


def cache_home() -> Path:
    return Path(os.environ.get("EVCHAOS_HOME", Path.home() / ".cache" / "evchaos")).expanduser()


@dataclass(frozen=True)
class Installation:
    """Where the pinned infrastructure lives once installed."""

    home: Path

    @property
    def kafka_dir(self) -> Path:
        return self.home / (
            f"kafka-{versions.KAFKA_VERSION}-log4j-{versions.LOG4J_VERSION}-slf4j-{versions.SLF4J_VERSION}"
        )

    @property
    def kafka_libs(self) -> Path:
        return self.kafka_dir / "libs"

    @property
    def kafka_classpath(self) -> str:
        return str(self.kafka_libs / "*")

    @property
    def toxiproxy_bin(self) -> Path:
        return self.home / f"toxiproxy-{versions.TOXIPROXY_VERSION}" / "toxiproxy-server"

    @property
    def kafka_ready(self) -> bool:
        return (self.kafka_dir / MARKER).exists()

    @property
    def toxiproxy_ready(self) -> bool:
        return self.toxiproxy_bin.exists() and (self.toxiproxy_bin.parent / MARKER).exists()

    def require(self) -> Installation:
        """Fail with the command to run if anything is missing (used before starting a cluster)."""
        missing = [n for n, ok in (("Kafka", self.kafka_ready), ("Toxiproxy", self.toxiproxy_ready)) if not ok]
        if missing:
            raise InstallError(
                f"{' and '.join(missing)} not installed in {self.home}; run `evchaos infra install` first"
            )
        return self


def default_installation() -> Installation:
    return Installation(cache_home())


def progress(message: str) -> None:
    print(f"[evchaos install] {message}", file=sys.stderr, flush=True)


# -- tool checks ---------------------------------------------------------------------------------
def _tool_output(tool: str, *args: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise FileNotFoundError(tool)
    done = subprocess.run([path, *args], capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr


def check_java() -> None:
    need = f"Java {versions.MIN_JAVA} or newer (Kafka {versions.KAFKA_VERSION} brokers need it)"
    try:
        out = _tool_output("java", "-version")
    except FileNotFoundError:
        raise InstallError(
            f"`java` not found on PATH: install {need}, e.g. apt-get install openjdk-17-jdk-headless"
        ) from None
    match = re.search(r'version "(\d+)', out)
    if not match or int(match.group(1)) < versions.MIN_JAVA:
        raise InstallError(f"`java` is too old ({out.splitlines()[0] if out else '?'}): need {need}")


def check_mvn() -> None:
    try:
        _tool_output("mvn", "-v")
    except FileNotFoundError:
        raise InstallError(
            "`mvn` not found on PATH: install Apache Maven 3.6 or newer (apt-get install maven); "
            f"it resolves org.apache.kafka:kafka_2.13:{versions.KAFKA_VERSION} from Maven Central"
        ) from None


def check_go() -> None:
    need = ".".join(map(str, versions.MIN_GO))
    try:
        out = _tool_output("go", "version")
    except FileNotFoundError:
        raise InstallError(
            f"`go` not found on PATH: install Go {need} or newer; it builds Toxiproxy {versions.TOXIPROXY_VERSION}"
        ) from None
    match = re.search(r"go(\d+)\.(\d+)", out)
    if not match or (int(match.group(1)), int(match.group(2))) < versions.MIN_GO:
        raise InstallError(f"`go` is too old ({out.strip()}): Toxiproxy {versions.TOXIPROXY_VERSION} needs Go {need}+")


# -- installers ----------------------------------------------------------------------------------
POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>evchaos</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>{kafka}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>{log4j}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>{log4j}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>{slf4j}</version></dependency>
  </dependencies>
</project>
"""


def run_streaming(argv: list[str], env: dict[str, str], show: re.Pattern[str], what: str) -> None:
    """Run a build tool, echoing only the lines that show progress; keep the rest for the error."""
    started = time.monotonic()
    kept: list[str] = []
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            kept.append(line.rstrip())
            if show.search(line):
                progress(f"{what} [{time.monotonic() - started:5.1f}s] {line.strip()[:150]}")
    if proc.returncode != 0:
        tail = "\n".join(kept[-40:])
        raise InstallError(f"{what} failed (exit {proc.returncode}): {' '.join(argv)}\n{tail}")


def install_kafka(inst: Installation) -> None:
    progress(f"resolving org.apache.kafka:kafka_2.13:{versions.KAFKA_VERSION} + log4j {versions.LOG4J_VERSION}"
             f" + slf4j-api {versions.SLF4J_VERSION}")
    inst.kafka_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=inst.home) as tmp:
        pom = Path(tmp) / "pom.xml"
        pom.write_text(POM.format(kafka=versions.KAFKA_VERSION, log4j=versions.LOG4J_VERSION,
                                  slf4j=versions.SLF4J_VERSION))
        staging = Path(tmp) / "libs"
        argv = [
            "mvn", "-B", "-f", str(pom), "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}", "-DincludeScope=runtime",
        ]
        run_streaming(argv, dict(os.environ), re.compile(r"Downloaded from|BUILD|ERROR"), "maven")
        shutil.rmtree(inst.kafka_libs, ignore_errors=True)
        shutil.move(str(staging), inst.kafka_libs)
    jars = sorted(p.name for p in inst.kafka_libs.glob("*.jar"))
    if not any(j.startswith(f"kafka_2.13-{versions.KAFKA_VERSION}") for j in jars):
        raise InstallError(
            f"maven finished but kafka_2.13-{versions.KAFKA_VERSION}.jar is missing in {inst.kafka_libs}"
        )
    (inst.kafka_dir / MARKER).write_text("\n".join(jars) + "\n")
    progress(f"kafka ready: {len(jars)} jars in {inst.kafka_libs}")


def install_toxiproxy(inst: Installation) -> None:
    target = inst.toxiproxy_bin.parent
    target.mkdir(parents=True, exist_ok=True)
    progress(f"building github.com/Shopify/toxiproxy/v2/cmd/server@{versions.TOXIPROXY_VERSION} (go install)")
    with tempfile.TemporaryDirectory(dir=inst.home) as gobin:
        env = {**os.environ, "GOBIN": gobin, "CGO_ENABLED": "0"}
        version_flag = f"-X github.com/Shopify/toxiproxy/v2.Version={versions.TOXIPROXY_VERSION.lstrip('v')}"
        argv = [
            "go", "install", "-v", "-ldflags", version_flag,
            f"github.com/Shopify/toxiproxy/v2/cmd/server@{versions.TOXIPROXY_VERSION}",
        ]
        run_streaming(argv, env, re.compile(r"^go: downloading|^[\w.\-]+(/[\w.\-]+)+$"), "go")
        shutil.move(str(Path(gobin) / "server"), inst.toxiproxy_bin)
    (target / MARKER).write_text(versions.TOXIPROXY_VERSION + "\n")
    progress(f"toxiproxy ready: {inst.toxiproxy_bin}")


def install(inst: Installation | None = None, force: bool = False) -> Installation:
    """Install whatever is missing; with everything present this only stats two marker files."""
    inst = inst or default_installation()
    inst.home.mkdir(parents=True, exist_ok=True)
    kafka_needed, toxiproxy_needed = force or not inst.kafka_ready, force or not inst.toxiproxy_ready
    # Check every tool before downloading anything, so a missing one fails in a second, not after a build.
    checks = [*([check_java, check_mvn] if kafka_needed else []), *([check_go] if toxiproxy_needed else [])]
    for check in checks:
        check()
    if kafka_needed:
        install_kafka(inst)
    else:
        progress(f"kafka {versions.KAFKA_VERSION}: already installed ({inst.kafka_dir})")
    if toxiproxy_needed:
        install_toxiproxy(inst)
    else:
        progress(f"toxiproxy {versions.TOXIPROXY_VERSION}: already installed ({inst.toxiproxy_bin})")
    return inst
