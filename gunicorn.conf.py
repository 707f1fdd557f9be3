"""gunicorn settings for production: ``gunicorn -c gunicorn.conf.py 'survey:create_app()'``."""

import multiprocessing
import os

bind = os.environ.get("SURVEY_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("SURVEY_WORKERS", multiprocessing.cpu_count() * 2 + 1))
timeout = 30
# files the server creates (the SQLite database and its -wal, log files) are its own: 0600.
# gunicorn's own `umask` setting covers only its sockets; this process's umask is inherited
# by the workers.
os.umask(0o077)
accesslog = "-"
# A ballot URL carries its code: survey.logs.RedactingLogger blanks /b/<code> and ?code= in
# every access and error line. No %(h)s (client address) either.
logger_class = "survey.logs.RedactingLogger"
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'


def on_starting(server):  # noqa: ANN001, ANN201
    """Refuse to start, in one line, when the code key is not the one the codes were issued
    under (every printed code would be turned away as "already used"), or the ballot box
    secret is not the one open rounds were sealed under (their ballots could not be counted)."""
    from survey.codes.services import startup_check

    problem = startup_check()
    if problem:
        server.log.error("refusing to start: %s", problem)
        raise SystemExit(1)
