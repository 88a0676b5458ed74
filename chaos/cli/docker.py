"""``evchaos images`` and ``evchaos engine``: the Docker side of the harness, from the command line.

evchaos images build [--offline] [NAME...]   build the images the docker backend and compose run
evchaos images list                          each image: its tag, and whether the engine has it
evchaos engine up [--install]                start a Docker engine (dockerd --bridge=none) if none answers
evchaos engine down                          stop the engine `engine up` started (never another one)
"""

from __future__ import annotations

import argparse

from chaos.infra.backends.docker.images import ImageError


def cmd_images_build(args: argparse.Namespace) -> int:
    from chaos.infra.backends.docker.images import build_all

    for tag in build_all(args.names or None, offline=args.offline):
        print(tag)
    return 0


def cmd_images_list(args: argparse.Namespace) -> int:
    from chaos.infra.backends.docker.images import catalogue, has_image

    for name, image in catalogue().items():
        print(f"{name:10} {image.tag:32} {'built' if has_image(image.tag) else 'missing'}  ({image.dockerfile})")
    return 0


def cmd_engine_up(args: argparse.Namespace) -> int:
    from chaos.infra.backends.docker.daemon import ensure_engine

    state = ensure_engine(install=True if args.install else None)
    if not state.running:
        print(f"evchaos: {state.reason}")
        return 1
    print("Docker engine started" if state.started else "a Docker engine is already running")
    return 0


def cmd_engine_down(args: argparse.Namespace) -> int:
    from chaos.infra.backends.docker.daemon import stop_engine

    print("Docker engine stopped" if stop_engine() else "no engine started by `evchaos engine up` is running")
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    images = sub.add_parser("images", help="build and list the Docker images (docker backend, compose stack)")
    images_sub = images.add_subparsers(dest="images_command", required=True)
    p = images_sub.add_parser("build", help="build the images from the project's Dockerfiles")
    p.add_argument("names", nargs="*", help="toxiproxy, kafka, project (default: all)")
    p.add_argument("--offline", action="store_true",
                   help="make the base images from Debian packages (mmdebstrap) instead of pulling them")
    p.set_defaults(func=cmd_images_build)
    p = images_sub.add_parser("list", help="each image and whether the engine has it")
    p.set_defaults(func=cmd_images_list)

    engine = sub.add_parser("engine", help="start and stop a Docker engine for the harness")
    engine_sub = engine.add_subparsers(dest="engine_command", required=True)
    p = engine_sub.add_parser("up", help="start dockerd --bridge=none --iptables=false if no engine answers")
    p.add_argument("--install", action="store_true", help="install docker.io and mmdebstrap first if missing "
                   "(root, apt-get; also with EVCHAOS_DOCKER_INSTALL=1 or in CI)")
    p.set_defaults(func=cmd_engine_up)
    p = engine_sub.add_parser("down", help="stop the engine `engine up` started")
    p.set_defaults(func=cmd_engine_down)


ERRORS = (ImageError,)
"""What these commands raise for a user to read (printed without a traceback)."""
