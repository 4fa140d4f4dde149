# The image the prebuilt components (conveyor.components) run in on Vertex AI Pipelines
# or Kubeflow: Conveyor installed from this repository with its locked dependencies
# (uv.lock), run as a non-root user, needing no network when a task runs.
#
#   docker build -t REGION-docker.pkg.dev/PROJECT/REPOSITORY/conveyor:0.1.0 .
#   docker push REGION-docker.pkg.dev/PROJECT/REPOSITORY/conveyor:0.1.0
#   CONVEYOR_COMPONENTS_IMAGE=REGION-docker.pkg.dev/PROJECT/REPOSITORY/conveyor:0.1.0 python compile.py
#
# docs/components.md ("Running the prebuilt components on Vertex AI") says the rest.
# tests/components/test_vertex_image.py checks what this file claims (paths, versions).

ARG PYTHON_VERSION=3.11

# Build: a virtual environment at /opt/conveyor, from uv.lock, Conveyor not editable.
FROM python:${PYTHON_VERSION}-slim AS build
# uv at the version the Makefile uses.
RUN pip install --no-cache-dir "uv==0.13.9"
ENV UV_PROJECT_ENVIRONMENT=/opt/conveyor \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy
WORKDIR /src
# The dependencies first, in a layer of their own that changes only with uv.lock.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY src ./src
RUN uv sync --frozen --no-dev --no-editable \
 && /opt/conveyor/bin/python -c "import conveyor.components, kfp.dsl.executor_main"

# Run: the environment alone, first on the PATH, so that the `python3` of the components'
# command (kfp's executor, `python3 -m kfp.dsl.executor_main`) is Conveyor's.
FROM python:${PYTHON_VERSION}-slim
COPY --from=build /opt/conveyor /opt/conveyor
ENV PATH=/opt/conveyor/bin:$PATH \
    PYTHONUNBUFFERED=1
RUN useradd --create-home --uid 10001 --user-group conveyor
USER conveyor
WORKDIR /home/conveyor
CMD ["conveyor", "--help"]
