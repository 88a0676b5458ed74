# The EV charging network's services (central, charging points, monitors, drivers): one image, one
# command line (`evcharge`), the role chosen by the container's command. Used by docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Only what the package needs: a change to tests or reports does not rebuild the image.
COPY pyproject.toml README.md ./
COPY system ./system
COPY chaos ./chaos
RUN pip install . \
    && useradd --create-home --uid 1000 evcharge \
    && mkdir -p /data && chown evcharge /data

USER evcharge
WORKDIR /data
ENTRYPOINT ["evcharge"]
CMD ["--help"]
