# The class server in a container, served as `make serve` serves it: class settings from
# .streamlit/config.toml (no tracebacks, no file watcher, 10 MB uploads), training in worker processes.
#   docker build -t ntl-qcbnn-lab .
#   docker run --rm -p 8501:8501 -e APP_CPU_WORKERS=4 ntl-qcbnn-lab     # then open http://<host>:8501
# The class's run folder (docs/running_a_class.md), read-only: add -v "$PWD/runs:/app/runs:ro".
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
WORKDIR /app

# CPU torch from PyTorch's CPU index: PyPI's Linux wheel pulls the CUDA libraries (gigabytes). Keep the
# version equal to the Makefile's TORCH_SPEC (tests/unit/test_dockerfile.py checks it).
ARG TORCH_SPEC=torch==2.13.0
RUN pip install --index-url https://download.pytorch.org/whl/cpu "$TORCH_SPEC"
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .
RUN pip install --no-deps -e . && useradd --create-home --uid 10001 lab
# Not root: a student's upload or a crafted run directory is handled by an unprivileged user.
USER lab

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 CMD \
    python -c "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read() != b'ok')"
CMD ["streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port", "8501", "--server.headless", "true"]
