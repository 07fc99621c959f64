FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 DATA_DIR=/data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY natsdash natsdash
COPY core core
COPY clusters clusters
COPY streams streams
COPY devstack devstack
COPY templates templates
COPY static static
COPY manage.py ./
RUN pip install . && mkdir -p /data \
    && SECRET_KEY=collectstatic-only-not-a-real-key-0123456789 python manage.py collectstatic --noinput

EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "natsdash.asgi:application"]
