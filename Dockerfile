# syntax=docker/dockerfile:1
# One image for the four services (and Celery beat); docker-compose.yml picks the command.
# Dependencies come from pyproject.toml, pinned by constraints.txt (the same lock the native
# venv uses), then the package itself is installed, so its metadata gives `service.version`.
# The services' packages only: the CLI and its native-stack launcher (tradetrace/) stay out, as
# nothing below them imports them (a unit test holds that). The final stage carries only the
# virtualenv, run as non-root.
ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install -r requirements.txt -c constraints.txt
COPY services ./services
COPY tracing ./tracing
COPY trace_reader ./trace_reader
RUN /opt/venv/bin/pip install --no-deps -c constraints.txt . \
 && rm /opt/venv/bin/tradetrace

FROM python:${PYTHON_VERSION}-slim
# /var/run/azure-monitor: the azure profile's token file (services.azure_token); a volume
# mounted there starts with this owner, so the refresher writes what the collector (the same
# uid) reads.
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin tradetrace \
 && mkdir -p /var/run/azure-monitor && chown tradetrace /var/run/azure-monitor
COPY --from=deps /opt/venv /opt/venv
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
USER tradetrace
EXPOSE 8000
CMD ["python", "-m", "services.backend"]
