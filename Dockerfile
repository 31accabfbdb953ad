# Container image of the platform with its embedded PostGIS cluster.
# Build: docker build -t cityops .   Run: docker run -p 5000:5000 -v cityops-var:/app/var cityops
FROM debian:bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 TZ=Asia/Shanghai
RUN apt-get update -q && apt-get install -y -q --no-install-recommends \
        python3 python3-venv python3-dev build-essential make git ca-certificates \
        postgresql-15 postgresql-15-postgis-3 postgresql-15-pgrouting gdal-bin fonts-noto-cjk nodejs npm \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY setup.cfg pyproject.toml README.md package.json package-lock.json ./
COPY geo ./geo
COPY ogc ./ogc
COPY webapp ./webapp
COPY grid_data ./grid_data
COPY etl ./etl
COPY bench ./bench
COPY layers ./layers
COPY alembic.ini Makefile ./
# Chromium is only needed by the test suite; the image serves the platform.
RUN make python-deps assets

# gunicorn listens on all interfaces inside the container; PostgreSQL stays on loopback.
ENV CITYOPS_BIND=0.0.0.0 PORT=5000
VOLUME /app/var
EXPOSE 5000
CMD ["sh", "-c", ".venv/bin/cityops db up && .venv/bin/cityops demo load && exec .venv/bin/cityops serve --workers 2"]
