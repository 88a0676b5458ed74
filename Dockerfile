# The EV charging network's services (central, charging points, monitors, drivers): one image, one
# command line (`evcharge`), the role chosen by the container's command. Used by docker-compose.yml.
#
# `evchaos images build` stages the context: this project's wheel and every dependency's, made on the
# host, so the build itself needs no network (`pip install --no-index`). Built from the repository
# itself (`docker build .`), it installs from the sources and the package index instead.
#   BASE: any image with Python 3.11+ and its venv module; --offline makes one from Debian packages.
ARG BASE=python:3.11-slim
FROM ${BASE}

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/evcharge/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

COPY . /src
RUN python3 -m venv /opt/evcharge \
    && if [ -d /src/wheels ]; then \
         /opt/evcharge/bin/pip install --no-index --find-links /src/wheels "$(cat /src/wheels/PROJECT)"; \
       else \
         /opt/evcharge/bin/pip install "/src[system]"; \
       fi \
    && rm -rf /src \
    && mkdir -p /data /secrets && chown 1000:1000 /data /secrets && chmod 700 /secrets

USER 1000:1000
WORKDIR /data
ENV HOME=/data
ENTRYPOINT ["evcharge"]
CMD ["--help"]
