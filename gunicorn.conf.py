"""gunicorn settings for production: ``gunicorn -c gunicorn.conf.py 'survey:create_app()'``."""

import multiprocessing
import os

bind = os.environ.get("SURVEY_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("SURVEY_WORKERS", multiprocessing.cpu_count() * 2 + 1))
timeout = 30
accesslog = "-"
# No %(h)s (client address): ballot URLs carry their code, and the two side by side would link
# a code to the person who used it.
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'
