# syntax=docker/dockerfile:1
# staffer daemon image: multi-stage, slim Python 3.11, non-root, runtime deps only, built
# from the release wheel (the same artefact `python -m build` makes for PyPI).
#
# The image is the lean install (the daemon and its tools). `--build-arg EXTRAS=demo` adds
# the demo extra (simulator, charts, embedded broker): compose's `bridge-sim` uses that.
#
#   docker build -t staffer .
#   docker run -v ./deploy/staffer:/etc/staffer:ro -v staffer-state:/var/lib/staffer \
#     -v ./deploy/mosquitto/secrets/staffer.password:/run/secrets/mqtt_password:ro \
#     -e STAFFER_MQTT__URL=mqtt://BROKER-HOST:1883 staffer
#
# The configuration is mounted at /etc/staffer/ (deploy/staffer/staffer.toml reads the
# MQTT password from /run/secrets/mqtt_password and names compose's broker, `mosquitto`:
# outside compose, mount the secret there and point STAFFER_MQTT__URL at your broker, or
# `staffer check-config` refuses it); state (SQLite: overrides, locks, in-flight moves, audit log)
# lives on the /var/lib/staffer volume. Any key can be overridden with
# STAFFER_<SECTION>__<KEY> environment variables.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: the release wheel, made as `python -m build --wheel` makes it --------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY staffer ./staffer
RUN pip install --no-cache-dir build==1.6.1 \
 && python -m build --wheel --outdir /dist .

# --- runtime: that wheel installed into a venv; no compilers, no sources, no dev deps ---
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="staffer" \
      org.opencontainers.image.description="Real-time staffing daemon for contact centers" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/staffer/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    STAFFER_HTTP__HOST=0.0.0.0 \
    STAFFER_HTTP__PORT=9464 \
    STAFFER_STATE__PATH=/var/lib/staffer/staffer-state.db
RUN groupadd --system --gid 10001 staffer \
 && useradd --system --uid 10001 --gid staffer --home-dir /var/lib/staffer \
      --no-create-home --shell /usr/sbin/nologin staffer \
 && install -d -o staffer -g staffer -m 0750 /var/lib/staffer \
 && install -d -m 0755 /etc/staffer
# The wheel is bind-mounted from the build stage, so it never becomes a layer here.
ARG EXTRAS=""
RUN --mount=type=bind,from=build,source=/dist,target=/dist \
    python -m venv /opt/staffer \
 && wheel="$(ls /dist/staffer-*.whl)" \
 && /opt/staffer/bin/pip install --no-cache-dir "${wheel}${EXTRAS:+[$EXTRAS]}" \
 && /opt/staffer/bin/python -m compileall -q /opt/staffer/lib
USER 10001:10001
WORKDIR /var/lib/staffer
VOLUME ["/var/lib/staffer"]
EXPOSE 9464
# /healthz answers while the process is alive; no curl in the image, so use Python.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('STAFFER_HTTP__PORT', '9464') + '/healthz', timeout=4)"]
ENTRYPOINT ["staffer", "run"]
CMD ["-c", "/etc/staffer/staffer.toml"]
