# The lineage service. Built by docker-compose.yml; the store comes from LINEAGE_STORE.
#
# It runs as the user `lineage` (uid and gid 10001, no login), which owns nothing but /data: the
# code in /app stays root's. /data is the embedded store's default home (LINEAGE_STORE below)
# and a volume:
#   docker run -v lineage-data:/data -p 127.0.0.1:8000:8000 --env-file deploy.env IMAGE
# A bind mount instead of a named volume must be writable by uid 10001. The fan-out's compiled
# pass (graph/kernel.py) is cached by numba in the user's cache, /data/.cache/numba: compiled at
# the first start on a volume (a few seconds, in the background), loaded at later starts.
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY graph ./graph
COPY service ./service
RUN pip install --no-cache-dir --disable-pip-version-check --constraint constraints.txt . \
    && useradd --uid 10001 --user-group --no-create-home --home-dir /data \
        --shell /usr/sbin/nologin lineage \
    && install -d -o lineage -g lineage -m 0700 /data

USER lineage
ENV LINEAGE_HOST=0.0.0.0 \
    LINEAGE_PORT=8000 \
    LINEAGE_STORE=sqlite:////data/lineage.db
VOLUME /data
EXPOSE 8000
# On the port the service listens on, whatever LINEAGE_PORT the container is given.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=5 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('LINEAGE_PORT', '8000') + '/healthz', timeout=2)"]
CMD ["lineage", "serve"]
