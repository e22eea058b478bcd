# CPU image of the Touchpoints service with the shipped models baked in.
#   docker build -t touchpoints .            (wheels/ may hold torch-2.13.0+cpu*.whl to build offline)
#   docker run -p 8000:8000 touchpoints
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    TOUCHPOINTS_DATABASE_URL=sqlite:////data/touchpoints.db
# Where to find the CPU build of torch 2.13.0: a local wheels/ folder first, then the
# index given by --build-arg TORCH_INDEX_URL=<your mirror of the CPU wheels>.
ARG TORCH_INDEX_URL=""
WORKDIR /app
COPY wheels/ /wheels/
RUN if [ -n "$TORCH_INDEX_URL" ]; then \
        pip install --find-links /wheels --index-url "$TORCH_INDEX_URL" torch==2.13.0; \
    else \
        pip install --find-links /wheels torch==2.13.0; \
    fi
COPY pyproject.toml setup.py README.md ./
COPY service/ service/
COPY models/ models/
# A regular (non-editable) install: the models ship inside the package (service/_models, see setup.py),
# so the sources are removed afterwards and the service runs from site-packages alone.
RUN pip install --find-links /wheels . \
    && rm -rf /app/service /app/models /app/build /app/*.egg-info \
    && python -c "from service.config import Settings; s = Settings(); assert (s.sentiment_path / 'config.json').is_file(), s.models_dir" \
    && mkdir -p /data
EXPOSE 8000
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz').status==200 else 1)"
CMD ["touchpoints", "serve", "--host", "0.0.0.0", "--port", "8000"]
